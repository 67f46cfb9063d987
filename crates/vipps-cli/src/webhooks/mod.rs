//! `vipps webhooks …`: register, list and delete webhooks, a local verifying receiver that can
//! forward to the merchant's own handler (`listen`), and `trigger`, which makes the emulator
//! send an event.

mod event;
mod forward;
mod listen;
mod trigger;

use crate::payment::{client_from_env, print};
use clap::Subcommand;
use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Register a webhook.
    Register {
        #[arg(long)]
        url: String,
        /// Event types, e.g. epayments.payment.captured.v1 (default: every ePayment event).
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// List webhooks.
    List,
    /// Delete a webhook.
    Delete { id: String },
    /// Run a local receiver that verifies each request and prints the events; with
    /// --forward-to it registers itself and forwards every event, re-signed, to your handler.
    Listen(listen::ListenArgs),
    /// Make the emulator send an event by running the flow that produces it (emulator only).
    Trigger(trigger::TriggerArgs),
}

pub async fn run(cmd: WebhooksCommand, json: bool) -> Result<(), String> {
    match cmd {
        WebhooksCommand::Register { url, events } => register(url, &events, json).await,
        WebhooksCommand::List => list(json).await,
        WebhooksCommand::Delete { id } => delete(&id, json).await,
        WebhooksCommand::Listen(args) => listen::run(args, json).await,
        WebhooksCommand::Trigger(args) => trigger::run(args, json).await,
    }
}

/// The event types named on the command line; none named means every ePayment event.
fn event_types(names: &[String]) -> Vec<WebhookEventType> {
    if names.is_empty() {
        WebhookEventType::EPAYMENT.to_vec()
    } else {
        names.iter().map(|s| WebhookEventType::from(s.as_str())).collect()
    }
}

async fn register(url: String, events: &[String], json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let r = client
        .webhooks()
        .register(RegisterWebhookRequest::new(url, event_types(events)))
        .await
        .map_err(|e| e.to_string())?;
    // The secret is shown once, here: the user needs it to verify deliveries.
    print(json, &serde_json::json!({"id": r.id, "secret": r.secret}), |_| {
        format!("registered webhook {}\n  secret (shown only now): {}", r.id, r.secret)
    });
    Ok(())
}

async fn list(json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let r = client.webhooks().list().await.map_err(|e| e.to_string())?;
    print(json, &*r, |r| {
        let mut s = format!("{} webhook(s)", r.webhooks.len());
        for w in &r.webhooks {
            let ev: Vec<_> = w.events.iter().map(|e| e.as_str()).collect();
            s.push_str(&format!("\n  {}  {}  {}", w.id, w.url, ev.join(",")));
        }
        s
    });
    Ok(())
}

async fn delete(id: &str, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    client.webhooks().delete(id).await.map_err(|e| e.to_string())?;
    print(json, &serde_json::json!({"id": id, "deleted": true}), |_| {
        format!("deleted webhook {id}")
    });
    Ok(())
}
