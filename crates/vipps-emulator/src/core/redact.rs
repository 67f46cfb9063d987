//! What may be shown of a merchant's URL in logs and the delivery log.

/// `s` without its user information (`user:password@`), which may be a merchant's credential
/// (a URL is accepted with it over https). URLs without any are returned as given, so a log
/// line shows the URL the merchant registered; text that does not parse is not shown at all.
pub(crate) fn url_for_log(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.into()
        }
        Ok(_) => s.to_owned(),
        Err(_) => "(not a valid URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::url_for_log;

    #[test]
    fn userinfo_is_removed() {
        assert_eq!(
            url_for_log("https://u:secret@example.com/h?x=1"),
            "https://example.com/h?x=1"
        );
        assert_eq!(url_for_log("https://secret@example.com/h"), "https://example.com/h");
        assert_eq!(url_for_log("https://example.com/h"), "https://example.com/h");
        assert!(!url_for_log("https://u:secret@").contains("secret"));
    }
}
