//! Recurring API v3 emulation (`/recurring/v3`): agreements, their charges, the clock that
//! processes them, the confirmation page, and the customer's side for the control plane.
//!
//! Routes (bearer token and subscription key; `Merchant-Serial-Number` optional; an
//! `Idempotency-Key` on every `POST`, `PATCH` and `DELETE`):
//! - `POST|GET /recurring/v3/agreements` (201 / 200; list: `status` (default `ACTIVE`),
//!   `createdAfter` (epoch ms), `pageNumber`, `pageSize`)
//! - `GET|PATCH /recurring/v3/agreements/{agreementId}` (200 / 204; `{"status":"STOPPED"}` stops)
//! - `PATCH /recurring/v3/agreements/{agreementId}/accept` `{phoneNumber}` (204, test only)
//! - `POST|GET /recurring/v3/agreements/{agreementId}/charges` (201 `{chargeId}` / 200)
//! - `GET|DELETE /recurring/v3/agreements/{agreementId}/charges/{chargeId}` (200 / 204 cancel)
//! - `POST …/charges/{chargeId}/capture`, `…/refund` `{amount, description}` (204)
//! - `GET /recurring/v3/charges/{chargeId}` (200)
//! - `POST /recurring/v3/agreements/charges` (202, up to 2 000 charges)
//! - `GET /recurring/confirm/{agreementId}?t=…` (the `vippsConfirmationUrl` page)
//! - control plane (in `control/`): `POST /_emulator/agreements/{agreementId}/accept|reject|stop|card|max-amount`,
//!   `POST /_emulator/customers/{phoneNumber}/card`
//!
//! The clock: a `PENDING` agreement expires 10 minutes after it was drafted; a `RECURRING`
//! charge is attempted at 00:00 UTC of its due date and, when the customer's payment fails,
//! again at 00:00 UTC of each following day through `retryDays`, then `FAILED`. An
//! `UNSCHEDULED` charge is attempted once, right after it was created. All of it is a
//! time-ordered queue of work ([`model::Work`]) that [`process::settle`] works off in time order
//! every second and after every clock advance. See ARCHITECTURE.md, "Recurring choices".

mod agreements;
mod bridge;
mod call;
mod charges;
mod customer;
mod errors;
mod events;
mod frontend;
mod model;
mod objects;
mod persist;
mod process;
mod render;

use crate::core::objects::{ObjectDetail, ObjectKind, ObjectPage, ObjectQuery};
use crate::core::state::AppState;
use axum::routing::{get, patch, post};
use axum::Router;

pub(crate) use self::customer::{
    control_accept, control_card, control_max_amount, control_phone_card, control_reject, control_stop,
};
pub(crate) use self::model::Recurring;

/// The Recurring API as a part of the emulator: the clock's work.
#[derive(Debug, Default)]
pub(crate) struct RecurringState;

impl crate::core::state::Part for RecurringState {
    fn render_error(&self, path: &str, error: &crate::core::error::ApiError) -> Option<crate::core::error::Stored> {
        path.starts_with("/recurring/")
            .then(|| errors::RecError::from(error.clone()).render(path))
    }

    fn settle_due(&self, state: &AppState) {
        process::settle(state);
    }

    fn objects(&self, tables: &crate::core::store::Tables, query: &ObjectQuery) -> Option<ObjectPage> {
        objects::page(tables, query, query.now)
    }

    fn object(
        &self,
        tables: &crate::core::store::Tables,
        kind: ObjectKind,
        msn: &str,
        id: &str,
        now: time::OffsetDateTime,
    ) -> Option<ObjectDetail> {
        objects::detail(tables, kind, msn, id, now)
    }

    fn order_currency(
        &self,
        tables: &crate::core::store::Tables,
        msn: &str,
        kind: &vipps_types::order_management::PaymentType,
        id: &str,
    ) -> Option<vipps_types::Currency> {
        (*kind == vipps_types::order_management::PaymentType::Recurring)
            .then(|| bridge::charge_currency(tables, msn, id))
            .flatten()
    }

    fn draft_agreement(
        &self,
        tables: &mut crate::core::store::Tables,
        now: time::OffsetDateTime,
        msn: &str,
        draft: &vipps_types::recurring::DraftAgreement,
    ) -> Option<Result<String, String>> {
        Some(bridge::draft(tables, now, msn, draft))
    }

    fn agreement_status(
        &self,
        tables: &mut crate::core::store::Tables,
        msn: &str,
        id: &str,
    ) -> Option<vipps_types::recurring::AgreementStatus> {
        bridge::status(tables, msn, id)
    }

    fn conclude_agreement(
        &self,
        tables: &mut crate::core::store::Tables,
        now: time::OffsetDateTime,
        msn: &str,
        id: &str,
        outcome: crate::core::state::AgreementOutcome<'_>,
    ) -> Option<vipps_types::recurring::AgreementStatus> {
        bridge::conclude(tables, now, msn, id, outcome)
    }
}

/// The routes of this API.
pub(crate) fn routes() -> Router<AppState> {
    const A: &str = "/recurring/v3/agreements";
    Router::new()
        .route(A, get(agreements::list).post(agreements::draft))
        .route("/recurring/v3/agreements/charges", post(charges::create_batch))
        .route(
            &format!("{A}/{{agreement_id}}"),
            get(agreements::get).patch(agreements::update),
        )
        .route(&format!("{A}/{{agreement_id}}/accept"), patch(agreements::force_accept))
        .route(
            &format!("{A}/{{agreement_id}}/charges"),
            get(charges::list).post(charges::create),
        )
        .route(
            &format!("{A}/{{agreement_id}}/charges/{{charge_id}}"),
            get(charges::get).delete(charges::cancel_charge),
        )
        .route(
            &format!("{A}/{{agreement_id}}/charges/{{charge_id}}/capture"),
            post(charges::capture_charge),
        )
        .route(
            &format!("{A}/{{agreement_id}}/charges/{{charge_id}}/refund"),
            post(charges::refund_charge),
        )
        .route("/recurring/v3/charges/{charge_id}", get(charges::get_by_id))
        .merge(frontend::routes())
}
