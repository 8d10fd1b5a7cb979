//! The `shardgate` command: run the proxy, or check a rule file.

use clap::{Parser, Subcommand};
use shardgate::config;
use shardgate::keygen::{KeyGenerator, SystemClock};
use shardgate::rules::value::ColumnKind;
use shardgate::session::Shared;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "shardgate", version, about = "A sharding proxy for MySQL")]
struct Cli {
    /// The rule file (TOML).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// How log lines are written: `text` for people, `json` for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Commands>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Commands {
    /// Validate a rule file and print a summary, or every error found.
    Check,
    /// Exit 0 when the running proxy's `/healthz` (on `server.admin_listen`)
    /// answers 200: a container HEALTHCHECK with no shell or curl.
    Health,
    /// Print the execution units of a statement, touching no backend.
    Preview {
        /// The statement (on the schema given by --schema, or the first one).
        sql: String,
        /// The logical schema the statement runs in.
        #[arg(long)]
        schema: Option<String>,
    },
}

fn main() -> ExitCode {
    // FAILPOINTS=name=action;... configures the XA crash points (tests only).
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let cli = Cli::parse();
    let Some(path) = cli.config else {
        eprintln!("shardgate: --config FILE is required");
        return ExitCode::from(2);
    };
    let config = match config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "shardgate: {} is not a valid rule file:\n{e}",
                path.display()
            );
            return ExitCode::from(1);
        }
    };
    match cli.command {
        Some(Commands::Check) => {
            println!("{}: OK\n{}", path.display(), config::summary(&config));
            ExitCode::SUCCESS
        }
        Some(Commands::Health) => health(&config),
        Some(Commands::Preview { sql, schema }) => preview(&config, schema.as_deref(), &sql),
        None => run(config, path, cli.log_format),
    }
}

/// GET /healthz on the admin address (a wildcard address is asked on
/// loopback); 0 on 200, 1 otherwise.
fn health(config: &config::Config) -> ExitCode {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    use std::time::Duration;
    let Some(listen) = &config.server.admin_listen else {
        eprintln!("shardgate: server.admin_listen is not set");
        return ExitCode::from(2);
    };
    let mut addr: SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("shardgate: server.admin_listen {listen:?}: {e}");
            return ExitCode::from(2);
        }
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    let timeout = Duration::from_secs(5);
    let answer = TcpStream::connect_timeout(&addr, timeout).and_then(|mut stream| {
        stream.set_read_timeout(Some(timeout))?;
        write!(stream, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text)
    });
    match answer {
        Ok(text) if text.split_whitespace().nth(1) == Some("200") => ExitCode::SUCCESS,
        Ok(text) => {
            eprintln!(
                "shardgate: /healthz on {addr}: {}",
                text.lines().next().unwrap_or("")
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("shardgate: /healthz on {addr}: {e}");
            ExitCode::from(1)
        }
    }
}

fn preview(config: &config::Config, schema: Option<&str>, sql: &str) -> ExitCode {
    let schema = match schema {
        Some(name) => config.rules.schemas.get(name),
        None => config.rules.schemas.values().next(),
    };
    let Some(schema) = schema else {
        eprintln!("shardgate: no such schema in the rule file");
        return ExitCode::from(2);
    };
    // Offline: no lease and no sequence table; segment keys show as `?`.
    let worker_id = match config.server.worker_id {
        config::WorkerIdConfig::Fixed(id) => id,
        config::WorkerIdConfig::Auto => 0,
    };
    let keys = match KeyGenerator::new(worker_id, Arc::new(SystemClock)) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("shardgate: {e}");
            return ExitCode::from(1);
        }
    };
    let unknown = |_: &str, _: &str| ColumnKind::Unknown;
    let context = shardgate::plan::PlanContext {
        schema,
        column_kind: &unknown,
        keys: Some(&keys),
        binary_key: &|_: &str| false,
    };
    match shardgate::plan::plan(sql, &[], &context) {
        Ok(plan) => {
            println!("merge: {}", plan.merge);
            for unit in &plan.units {
                println!("{}\t{}", unit.data_source, unit.sql);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Every client and backend connection is a file descriptor: raise the
/// soft limit as far as the hard one allows, and say so when that is short
/// of what the rule file may need.
fn raise_open_files_limit(config: &config::Config) {
    let needed = u64::from(config.server.max_connections)
        + config
            .data_sources
            .values()
            .map(|ds| ds.pool_max as u64 * (1 + ds.replicas.len() as u64))
            .sum::<u64>()
        + 64;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => tracing::warn!(
            "open files limit is {limit}, below the {needed} that max_connections and pool_max \
             may need; clients past it are refused (raise `ulimit -n`)"
        ),
        Ok(limit) => tracing::debug!("open files limit: {limit}"),
        Err(e) => tracing::warn!("cannot raise the open files limit: {e}"),
    }
}

fn init_logs(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

fn run(config: config::Config, path: PathBuf, log_format: LogFormat) -> ExitCode {
    init_logs(log_format);
    raise_open_files_limit(&config);
    // The listener only accepts and hands clients to the worker threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shardgate: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let listen = config.server.listen.clone();
        let admin_listen = config.server.admin_listen.clone();
        let shared = match Shared::with_path(config, Some(path)) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("shardgate: {e}");
                return ExitCode::from(1);
            }
        };
        // The admin endpoint first: once clients can connect, health checks can too.
        if let Some(admin) = admin_listen {
            match shardgate::admin::http::start(&admin, shared.clone()) {
                Ok(addr) => tracing::info!("admin HTTP (/metrics, /healthz, /readyz) on {addr}"),
                Err(e) => {
                    eprintln!("shardgate: cannot listen on server.admin_listen {admin}: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        // Branches a crash left prepared are finished before any client can
        // touch their rows; then periodically.
        if let Some(pass) = shared.recover_xa().await {
            tracing::info!(
                committed = pass.committed,
                rolled_back = pass.rolled_back,
                left = pass.left,
                complete = pass.complete,
                "XA recovery at start-up"
            );
        }
        shared.spawn_xa_recovery();
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("shardgate: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!("shardgate listening on {listen}");
        shared.reopen_audit_log();
        tokio::spawn(reload_on_sighup(shared.clone()));
        let reader = shared.clone();
        tokio::spawn(async move { reader.refresh_column_kinds().await });
        let served = shardgate::server::run(listener, shared.clone(), shutdown_signal()).await;
        // Off the runtime's worker: stopping waits for the key service's thread.
        let stopping = shared.clone();
        let _ = tokio::task::spawn_blocking(move || stopping.stop_key_service()).await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("shardgate: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// SIGHUP: re-read the rule file and reopen the audit log (log rotation).
async fn reload_on_sighup(shared: Arc<Shared>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("SIGHUP reload unavailable: {e}");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the rule file");
            if shared.reload().await.is_err() {
                // The running rules stay; the audit log is still rotated.
                shared.reopen_audit_log();
            }
        }
    }
    #[cfg(not(unix))]
    let _ = shared;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
