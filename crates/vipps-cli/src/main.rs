//! `vipps`: the Vipps MobilePay toolkit on the command line.

mod demo;
mod demo_subscription;
mod more;
mod order_management;
mod payment;
mod recurring;
mod webhooks;

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
    /// Order Management: the receipt the customer sees with an order (add, get).
    #[command(subcommand)]
    Receipt(order_management::ReceiptCommand),
    /// Order Management: the order's category, a link back to your site (set; v3: add, list, get, delete).
    #[command(subcommand)]
    Category(order_management::CategoryCommand),
    /// Order Management: images shown with categories (upload).
    #[command(subcommand)]
    Image(order_management::ImageCommand),
    /// Checkout API v3 sessions.
    #[command(subcommand)]
    Checkout(more::CheckoutCommand),
    /// Webhooks API v1: register, list, delete, a local verifying (and forwarding) receiver, trigger.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
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
    /// The token the control plane (`/_emulator/...`) requires, sent as `X-Emulator-Token` or
    /// through the sign-in page `/_emulator/login`. Without it the control plane is open on
    /// loopback, and off loopback (`--host 0.0.0.0`) a random token is generated and printed.
    #[arg(long, env = "VIPPS_EMULATOR_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
    /// Milliseconds a connection may take to send a request's headers (`header_read_timeout_ms`
    /// in the file; 10000).
    #[arg(long)]
    header_read_timeout_ms: Option<u64>,
    /// Milliseconds a kept-alive connection may sit idle (`keep_alive_timeout_ms`; 60000).
    #[arg(long)]
    keep_alive_timeout_ms: Option<u64>,
    /// Milliseconds a request body may take to arrive (`body_read_timeout_ms`; 30000).
    #[arg(long)]
    body_read_timeout_ms: Option<u64>,
    /// The most connections served at once (`max_connections`; 1024).
    #[arg(long)]
    max_connections: Option<usize>,
    /// The most webhook and callback deliveries in flight at once (`max_deliveries_in_flight`; 64).
    #[arg(long)]
    max_deliveries_in_flight: Option<usize>,
    /// The most deliveries in flight at once to one receiver (`max_deliveries_per_host`; 8).
    #[arg(long)]
    max_deliveries_per_host: Option<usize>,
    /// Keep the whole state in DIR (an SQLite database, created if missing) and continue from
    /// it when started again; without it everything lives in memory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Start from this snapshot (saved from `GET /_emulator/snapshot`), replacing what
    /// `--data-dir` holds.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<std::path::PathBuf>,
    /// Forget payments, Checkout sessions, eCom orders, consents and idempotency records created
    /// more than this many seconds ago on the emulator's clock (at least 3600;
    /// `retention_secs` in the file). Off by default.
    #[arg(long, value_name = "SECONDS")]
    retention_secs: Option<u64>,
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
    // The flags override the file.
    let set = |field: &mut u64, flag: Option<u64>| *field = flag.unwrap_or(*field);
    set(&mut config.header_read_timeout_ms, args.header_read_timeout_ms);
    set(&mut config.keep_alive_timeout_ms, args.keep_alive_timeout_ms);
    set(&mut config.body_read_timeout_ms, args.body_read_timeout_ms);
    let set = |field: &mut usize, flag: Option<usize>| *field = flag.unwrap_or(*field);
    set(&mut config.max_connections, args.max_connections);
    set(&mut config.max_deliveries_in_flight, args.max_deliveries_in_flight);
    set(&mut config.max_deliveries_per_host, args.max_deliveries_per_host);
    if args.retention_secs.is_some() {
        config.retention_secs = args.retention_secs;
    }
    config.check().map_err(|e| e.to_string())?;
    let mut builder = vipps_emulator::Emulator::builder()
        .host(args.host.clone())
        .port(args.port)
        .config(config);
    let given = args.control_token.is_some();
    if let Some(t) = args.control_token {
        builder = builder.control_token(t);
    }
    if let Some(dir) = &args.data_dir {
        builder = builder.data_dir(dir);
    }
    if let Some(file) = &args.snapshot {
        builder = builder.snapshot(file);
    }
    let running = builder
        .start()
        .await
        .map_err(|e| format!("could not start on {}:{}: {e}", args.host, args.port))?;
    println!("listening on {}", running.base_url());
    match running.control_token() {
        // Printed once, on stdout (not the log), only when nobody else knows it yet.
        Some(t) if !given => println!(
            "control token: {t} (send it as X-Emulator-Token, or sign in at {}/_emulator/login)",
            running.state().public_url()
        ),
        Some(_) => println!("control token: as given (--control-token or VIPPS_EMULATOR_CONTROL_TOKEN)"),
        None => {}
    }
    eprintln!("dashboard: {}/_emulator/", running.base_url());
    if let Some(dir) = &args.data_dir {
        eprintln!(
            "data dir: {} ({} payments kept; a 2xx means the change is on disk)",
            dir.display(),
            running.state().payment_count()
        );
    }
    let m = running.merchant();
    eprintln!(
        "default merchant: MSN {} client_id {} (client secret and subscription key as in the README)",
        m.msn, m.client_id
    );
    stopped().await;
    eprintln!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (how `docker stop` and service managers ask a process to end).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
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
        Command::Receipt(cmd) => {
            init_tracing("warn");
            order_management::receipt(cmd, cli.json).await
        }
        Command::Category(cmd) => {
            init_tracing("warn");
            order_management::category(cmd, cli.json).await
        }
        Command::Image(cmd) => {
            init_tracing("warn");
            order_management::image(cmd, cli.json).await
        }
        Command::Checkout(cmd) => {
            init_tracing("warn");
            more::checkout(cmd, cli.json).await
        }
        Command::Webhooks(cmd) => {
            init_tracing("warn");
            webhooks::run(cmd, cli.json).await
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
