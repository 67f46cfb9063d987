//! `vipps`: the Vipps MobilePay toolkit on the command line.

mod demo;
mod demo_subscription;
mod more;
mod payment;
mod recurring;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "vipps",
    version,
    about = "Vipps MobilePay from the shell: SDK operations, a local emulator, a demo"
)]
struct Cli {
    /// Print JSON instead of a readable summary.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Vipps MobilePay emulator.
    Emulator(EmulatorArgs),
    /// Run a whole payment flow against an embedded emulator (no credentials needed).
    Demo,
    /// ePayment operations against VIPPS_BASE_URL / VIPPS_ENVIRONMENT (default: a local emulator).
    #[command(subcommand)]
    Payment(payment::PaymentCommand),
    /// Recurring API v3 agreements: create, get, list, update, stop, accept (test only).
    #[command(subcommand)]
    Agreement(recurring::AgreementCommand),
    /// Recurring API v3 charges: create, create-many, get, list, cancel, capture, refund.
    #[command(subcommand)]
    Charge(recurring::ChargeCommand),
    /// Checkout API v3 sessions.
    #[command(subcommand)]
    Checkout(more::CheckoutCommand),
    /// Webhooks API v1: register, list, delete, and a local verifying receiver.
    #[command(subcommand)]
    Webhooks(more::WebhooksCommand),
    /// eCom API v2 (legacy) orders.
    #[command(subcommand)]
    Ecom(more::EcomCommand),
    /// Access Token API: print an access token (it is a credential: keep it out of logs).
    Token(more::TokenArgs),
    /// Userinfo API: the profile a customer shared in a payment, by the payment's `sub`.
    Userinfo {
        /// The `sub` from the payment (ePayment `profile.sub`, eCom `/details`, Checkout `userInfo`).
        sub: String,
    },
}

#[derive(clap::Args)]
struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port (0 picks a free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// JSON configuration file (merchants, token lifetime, payment expiry).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Base URL used in links the emulator hands out (landing pages), if not the listen address.
    #[arg(long)]
    public_url: Option<String>,
    /// Ignore request-body fields the emulator does not know instead of refusing them with 400
    /// (for clients that send fields newer than the emulator; `lenient_fields` in the file).
    #[arg(long)]
    lenient_fields: bool,
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIPPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: redirected to a file or a pipe, the log stays plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn run_emulator(args: EmulatorArgs) -> Result<(), String> {
    let mut config = match &args.config {
        Some(p) => vipps_emulator::EmulatorConfig::from_file(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => vipps_emulator::EmulatorConfig::default(),
    };
    if args.public_url.is_some() {
        config.public_url = args.public_url.clone();
    }
    if args.lenient_fields {
        config.lenient_fields = true;
    }
    let running = vipps_emulator::Emulator::builder()
        .host(args.host.clone())
        .port(args.port)
        .config(config)
        .start()
        .await
        .map_err(|e| format!("could not listen on {}:{}: {e}", args.host, args.port))?;
    println!("listening on {}", running.base_url());
    eprintln!("dashboard: {}/_emulator/", running.base_url());
    let m = running.merchant();
    eprintln!(
        "default merchant: MSN {} client_id {} (client secret and subscription key as in the README)",
        m.msn, m.client_id
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("shutting down");
    running.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Emulator(args) => {
            init_tracing("info,hyper=warn,reqwest=warn");
            run_emulator(args).await
        }
        Command::Demo => {
            init_tracing("warn");
            demo::run().await
        }
        Command::Payment(cmd) => {
            init_tracing("warn");
            payment::run(cmd, cli.json).await
        }
        Command::Agreement(cmd) => {
            init_tracing("warn");
            recurring::agreement(cmd, cli.json).await
        }
        Command::Charge(cmd) => {
            init_tracing("warn");
            recurring::charge(cmd, cli.json).await
        }
        Command::Checkout(cmd) => {
            init_tracing("warn");
            more::checkout(cmd, cli.json).await
        }
        Command::Webhooks(cmd) => {
            init_tracing("warn");
            more::webhooks(cmd, cli.json).await
        }
        Command::Ecom(cmd) => {
            init_tracing("warn");
            more::ecom(cmd, cli.json).await
        }
        Command::Token(args) => {
            init_tracing("warn");
            more::token(args, cli.json).await
        }
        Command::Userinfo { sub } => {
            init_tracing("warn");
            more::userinfo(&sub, cli.json).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
