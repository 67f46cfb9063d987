//! Name resolution for outbound calls, guarded when the emulator is exposed.
//!
//! A merchant URL is checked on its parsed host (`vipps_types::validate`): a loopback IP or
//! exactly `localhost` may use plain http, any other host needs https. A *name* can still
//! resolve to a loopback or private address. On loopback that is the user's own machine and
//! their business; bound off loopback, strangers can register URLs, so a name must resolve to
//! a public address or the call is not made (the emulator would otherwise reach the services
//! around it for them). IP literals and `localhost` are taken as written: the URL check already
//! decided on them, and the resolver is not asked for an IP literal.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Resolves with the system resolver; refuses non-public addresses while `exposed` is set.
#[derive(Clone, Default)]
pub(crate) struct GuardedResolver {
    exposed: Arc<AtomicBool>,
}

impl GuardedResolver {
    /// Whether names must resolve to public addresses (the emulator listens off loopback).
    pub(crate) fn set_exposed(&self, exposed: bool) {
        self.exposed.store(exposed, Ordering::Relaxed);
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let exposed = self.exposed.load(Ordering::Relaxed);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(&host, found, exposed)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A name that resolves only to addresses an exposed emulator does not call.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to loopback, private or link-local addresses, which an emulator listening off loopback does not call")]
pub(crate) struct NotPublic(String);

/// The addresses of `host` a call may go to.
pub(crate) fn allowed_addresses(
    host: &str,
    found: Vec<SocketAddr>,
    exposed: bool,
) -> Result<Vec<SocketAddr>, NotPublic> {
    if !exposed || host.eq_ignore_ascii_case("localhost") {
        return Ok(found);
    }
    let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        return Err(NotPublic(host.to_owned()));
    }
    Ok(public)
}

/// Whether `ip` is an address on the public internet (not loopback, private, link-local,
/// shared, unspecified, multicast or documentation space).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, carrier-grade NAT
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || shared
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7
            let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || unique_local || link_local)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| SocketAddr::new(a.parse().unwrap(), 0)).collect()
    }

    #[test]
    fn an_exposed_emulator_calls_only_public_addresses_of_a_name() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let r = allowed_addresses("shop.example", addrs(&[private]), true);
            assert!(r.is_err(), "{private} was allowed");
            assert!(r.unwrap_err().to_string().contains("shop.example"));
        }
        // Mixed answers: only the public address is called.
        let r = allowed_addresses("shop.example", addrs(&["10.0.0.1", "93.184.215.14"]), true).unwrap();
        assert_eq!(r, addrs(&["93.184.215.14"]));
        let r = allowed_addresses("shop.example", addrs(&["2a00:1450:4010::64"]), true).unwrap();
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn on_loopback_and_for_localhost_names_resolve_as_they_are() {
        let local = addrs(&["127.0.0.1", "192.168.1.1"]);
        assert_eq!(allowed_addresses("shop.example", local.clone(), false).unwrap(), local);
        assert_eq!(
            allowed_addresses("localhost", addrs(&["127.0.0.1"]), true).unwrap(),
            addrs(&["127.0.0.1"])
        );
    }

    /// End to end through reqwest, with this machine's own name (which resolves locally, to a
    /// loopback or private address, on the machines this runs on).
    #[tokio::test]
    async fn an_exposed_client_refuses_a_name_of_this_machine_and_says_why() {
        let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") else {
            return;
        };
        let name = name.trim().to_owned();
        let Ok(found) = tokio::net::lookup_host((name.as_str(), 0)).await else {
            return;
        };
        if found.into_iter().any(|a| is_public(a.ip())) {
            return;
        }
        let resolver = GuardedResolver::default();
        resolver.set_exposed(true);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver.clone()))
            .build()
            .unwrap();
        let e = client.get(format!("http://{name}:9/")).send().await.unwrap_err();
        let why = crate::outbound::connect_failure(&e);
        assert!(why.contains("resolves only to loopback"), "{why}");
        assert!(why.contains(&name), "{why}");
    }
}
