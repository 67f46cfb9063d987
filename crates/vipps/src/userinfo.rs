//! Userinfo API: the profile a customer consented to share in a payment.
//!
//! Ask for it with a `scope` when creating the payment (ePayment `profile.scope`, eCom
//! `transaction.scope`) or with Checkout's `requireUserInfo`. Once the customer has approved,
//! the payment carries a `sub` (ePayment `profile.sub`, eCom `/details` `sub`, Checkout
//! `userInfo.sub`); [`Userinfo::get`] fetches the profile for it. The data can be fetched for
//! 168 hours after the consent.
//!
//! The call is authenticated with the access token alone: the SDK leaves out
//! `Ocp-Apim-Subscription-Key`, which the Userinfo API answers with 401.
//!
//! ```no_run
//! # async fn run(client: vipps::Client, reference: vipps::types::Reference) -> Result<(), vipps::Error> {
//! let payment = client.epayment().get_payment(&reference).await?;
//! if let Some(sub) = &payment.profile.sub {
//!     let profile = client.userinfo().get(&sub).await?;
//!     println!("{:?} {:?}", profile.given_name, profile.email);
//! }
//! # Ok(()) }
//! ```

use crate::error::Error;
use crate::transport::{id_segment, Auth, Op, RequestBuilder};
use crate::Client;
use http::Method;
use vipps_types::userinfo::UserinfoResponse;

/// The Userinfo API. Get one with [`Client::userinfo`].
#[derive(Debug, Clone)]
pub struct Userinfo {
    client: Client,
}

impl Userinfo {
    pub(crate) fn new(client: Client) -> Self {
        Userinfo { client }
    }

    /// `GET /vipps-userinfo-api/userinfo/{sub}`: the fields of the consented scope.
    pub fn get(&self, sub: impl AsRef<str>) -> RequestBuilder<UserinfoResponse> {
        let op = match id_segment("sub", "a sub from a payment", sub.as_ref()) {
            Ok(sub) => Ok(Op::new(
                "userinfo.get",
                Method::GET,
                format!("/vipps-userinfo-api/userinfo/{sub}"),
            )
            .auth(Auth::BearerWithoutKey)),
            Err(e) => Err(Error::validation(e)),
        };
        RequestBuilder::new(&self.client, op)
    }
}
