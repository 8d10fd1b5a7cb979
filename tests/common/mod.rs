//! Test harness shared by the integration tests (`mod common;`).
//!
//! - [`cluster`]: [`CLUSTER_SIZE`] throwaway MariaDB servers, started lazily
//!   once per test process and shared by all its tests. Tests isolate
//!   themselves with their own databases ([`fresh_databases`]).
//! - [`MariaDb::start`]: one more server, private to a test, gone on drop.
//! - [`Proxy`]: the built `shardgate` binary on a free port with a rule file.
//! - [`mariadb_cli`]: the `mariadb` command-line client, as users run it.
//! - [`replication::ReplicaSet`]: a primary and GTID replicas from the template.
//!
//! Everything started here dies with the test process, even when it aborts:
//! each child runs under a small `sh` guard ([`Guarded`]) that polls this
//! process's pid and kills the child once it is gone, and a reaper removes the
//! temporary directory. Statics are never dropped, so this is the only cleanup
//! the shared cluster gets.
//!
//! Needs `mariadb-install-db`, `mariadbd` and `mariadb` (Debian:
//! `mariadb-server`, `mariadb-client`); `scripts/test.sh` installs them.
#![allow(dead_code)]

pub mod replica_proxy;
pub mod replication;

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Number of MariaDB servers in the shared [`cluster`].
pub const CLUSTER_SIZE: usize = 2;

/// The login every rule file written by [`passthrough_rules`] defines.
pub const APP_USER: &str = "app";
/// Password of [`APP_USER`].
pub const APP_PASSWORD: &str = "app_pw";

/// How long a MariaDB server may take to accept connections. Generous: on a
/// 2-core CI machine the servers start while the compiler is still busy.
const MARIADB_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the proxy may take to accept TCP connections.
const PROXY_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often guards and the reaper check whether the test process still lives.
const GUARD_POLL: &str = "0.2";

// ---------------------------------------------------------------------------
// Process guard
// ---------------------------------------------------------------------------

/// `sh -c` body: `$1` is the pid to watch, `$2` the poll interval, the rest
/// the command. Prints the command's pid on stdout, sends its output to the
/// guard's stderr, and exits with the command's status. A background watcher
/// kills the command as soon as the watched pid is gone. (As a background job
/// of `sh` the command starts with SIGINT ignored; TERM and HUP work, and so
/// does SIGINT for a program that installs its own handler, as tokio does.)
const GUARD_SCRIPT: &str = r#"
parent=$1; poll=$2; shift 2
"$@" </dev/null >&2 &
child=$!
echo "$child"
( while kill -0 "$parent" 2>/dev/null; do sleep "$poll"; done
  kill -9 "$child" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
watcher=$!
wait "$child"; rc=$?
kill "$watcher" 2>/dev/null
exit "$rc"
"#;

/// A child process that cannot outlive the process it watches (normally
/// this test process). Killed with SIGKILL on drop.
pub struct Guarded {
    /// The `sh` guard; it exits when the command exits, with its status.
    guard: Child,
    /// Pid of the command itself, for signals.
    pid: u32,
    /// Where the command's stdout and stderr go.
    log: PathBuf,
}

impl Guarded {
    /// Starts `program args..` under a guard watching this process.
    pub fn spawn(program: &Path, args: &[String], log: &Path) -> io::Result<Guarded> {
        Guarded::spawn_watching(std::process::id(), program, args, log)
    }

    /// Starts `program args..` under a guard watching `watch_pid`.
    pub fn spawn_watching(
        watch_pid: u32,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> io::Result<Guarded> {
        Guarded::spawn_with_env(watch_pid, program, args, log, &[])
    }

    /// [`Guarded::spawn_watching`] with more environment variables; the
    /// log is appended to.
    pub fn spawn_with_env(
        watch_pid: u32,
        program: &Path,
        args: &[String],
        log: &Path,
        env: &[(String, String)],
    ) -> io::Result<Guarded> {
        let log_file = fs::OpenOptions::new().create(true).append(true).open(log)?;
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(GUARD_SCRIPT)
            .arg("sh")
            .arg(watch_pid.to_string())
            .arg(GUARD_POLL)
            .arg(program)
            .args(args)
            // Logs go to a file: no terminal colour codes in them.
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = guard.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let pid = line.trim().parse::<u32>().map_err(|_| {
            let _ = guard.kill();
            let _ = guard.wait();
            io::Error::other(format!(
                "guard for {} did not report a pid (got {line:?})",
                program.display()
            ))
        })?;
        Ok(Guarded {
            guard,
            pid,
            log: log.to_path_buf(),
        })
    }

    /// Pid of the guarded command.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The command's exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.guard.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the command to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (`"TERM"`, `"HUP"`, ...) to the command.
    pub fn signal(&mut self, signal: &str) {
        if self.exited().is_none() {
            // The shell builtin: a `kill` binary is not on every machine.
            let _ = Command::new("sh")
                .arg("-c")
                .arg(r#"kill -s "$1" "$2" 2>/dev/null"#)
                .arg("sh")
                .arg(signal)
                .arg(self.pid.to_string())
                .status();
        }
    }

    /// Everything the command wrote so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the command (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        self.signal("KILL");
        let _ = self.guard.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// Temporary files of this test process
// ---------------------------------------------------------------------------

/// One directory per test process holding the template datadir and every
/// instance; a detached reaper removes it after the process exits.
fn root_dir() -> &'static Path {
    // The reaper is kept only so that it is owned; it outlives this process.
    static ROOT: OnceLock<(PathBuf, Child)> = OnceLock::new();
    &ROOT
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("shardgate-test-")
                .tempdir()
                .expect("create the harness temp dir")
                .keep();
            // Wait a little after the process is gone so the guards kill the
            // servers first.
            let script =
                r#"while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; sleep 1; rm -rf "$2""#;
            let reaper = Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg("sh")
                .arg(std::process::id().to_string())
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the temp dir reaper");
            (dir, reaper)
        })
        .0
}

/// A new, empty directory under [`root_dir`].
fn new_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(root_dir())
        .expect("create a temp dir")
        .keep()
}

/// A TCP port nobody listens on right now. Another process may take it before
/// we use it; starters retry when the port turns out to be taken.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The last `lines` lines of a file, for failure messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| format!("<{}: {e}>", path.display()));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn program(name: &str) -> PathBuf {
    // mariadbd lives in /usr/sbin, which is not on every PATH.
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Runs a future to completion on a private runtime in its own thread, so the
/// synchronous helpers work both in plain and in `#[tokio::test]` tests.
fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a tokio runtime")
            .block_on(future)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

// ---------------------------------------------------------------------------
// MariaDB
// ---------------------------------------------------------------------------

/// A datadir made by `mariadb-install-db` once per test process; instances
/// start from copies of it (~0.14 s instead of ~0.4 s).
fn template_datadir() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        // A new directory per attempt: a failed attempt leaves files behind.
        let dir = new_dir("template-");
        let log = dir.with_extension("log");
        // A private tmpdir: concurrent bootstraps sharing /tmp collide on
        // temporary table names and fail.
        let tmp = new_dir("install-tmp-");
        let out = Command::new(program("mariadb-install-db"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                // Keep the template small: the default redo log is 96 MB.
                "--innodb-log-file-size=8M",
                "--innodb-buffer-pool-size=32M",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run mariadb-install-db ({e}); install mariadb-server")
            });
        let _ = fs::write(&log, [&out.stdout[..], &out.stderr[..]].concat());
        if !out.status.success() {
            panic!(
                "mariadb-install-db failed ({}):\n{}",
                out.status,
                tail(&log, 40)
            );
        }
        dir
    })
}

/// One throwaway MariaDB server on 127.0.0.1; user `root`, no password, over
/// TCP. Killed (and its files removed) on drop, or when the test process ends.
pub struct MariaDb {
    /// The TCP port it listens on.
    port: u16,
    /// Holds `data/`, `error.log`, `sock`, `pid`.
    dir: PathBuf,
    /// The running `mariadbd`.
    process: Guarded,
    /// The options it was started with beyond the harness's own (for a restart).
    extra: Vec<String>,
}

impl MariaDb {
    /// Starts a server private to the caller.
    pub fn start() -> MariaDb {
        MariaDb::start_with(&[])
    }

    /// Starts a server private to the caller with `extra` options after the
    /// harness's own (e.g. `--ssl-cert=...`).
    pub fn start_with(extra: &[String]) -> MariaDb {
        let dir = new_dir("mariadb-");
        copy_dir(template_datadir(), &dir.join("data")).expect("copy the template datadir");
        let mut last_error = String::new();
        // A free port can be taken by someone else before mariadbd binds it.
        for _ in 0..3 {
            let port = free_port();
            let mut args = mariadbd_args(&dir, port);
            args.extend_from_slice(extra);
            let mut process = Guarded::spawn(&program("mariadbd"), &args, &dir.join("stderr.log"))
                .unwrap_or_else(|e| panic!("cannot run mariadbd ({e}); install mariadb-server"));
            match wait_ready(&mut process, port, &dir) {
                Ok(()) => {
                    let db = MariaDb {
                        port,
                        dir,
                        process,
                        extra: extra.to_vec(),
                    };
                    // Anonymous users would shadow 'app'@'%' on localhost.
                    db.exec("DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES");
                    return db;
                }
                Err(e) => {
                    process.kill();
                    last_error = e;
                    if !last_error.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("MariaDB did not start: {last_error}");
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding its datadir and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `mariadbd`'s pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends a signal by name (`"KILL"`, `"STOP"`, `"CONT"`) to `mariadbd`.
    pub fn signal(&mut self, signal: &str) {
        self.process.signal(signal);
    }

    /// Kills the server at once (SIGKILL), as a crash would; its files stay.
    pub fn kill_hard(&mut self) {
        self.process.kill();
    }

    /// Starts the server again on its datadir and port, with its options.
    pub fn restart(&mut self) {
        self.process.kill();
        let mut args = mariadbd_args(&self.dir, self.port);
        args.extend_from_slice(&self.extra);
        let mut process = Guarded::spawn(&program("mariadbd"), &args, &self.dir.join("stderr.log"))
            .unwrap_or_else(|e| panic!("cannot run mariadbd ({e})"));
        if let Err(e) = wait_ready(&mut process, self.port, &self.dir) {
            panic!("MariaDB did not restart: {e}");
        }
        self.process = process;
    }

    /// The server's error log so far.
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// `mysql://root@127.0.0.1:PORT/db?prefer_socket=false` (any database
    /// when `db` is empty), for mysql_async; `prefer_socket=false` keeps it on
    /// TCP. A rule file uses [`MariaDb::data_source_url`].
    pub fn url(&self, db: &str) -> String {
        format!(
            "mysql://root@127.0.0.1:{}/{db}?prefer_socket=false",
            self.port
        )
    }

    /// The URL a rule file uses for this server's database `db`.
    pub fn data_source_url(&self, db: &str) -> String {
        format!("mysql://root:@127.0.0.1:{}/{db}", self.port)
    }

    /// mysql_async options for this server's database `db`.
    pub fn opts(&self, db: &str) -> mysql_async::Opts {
        mysql_async::Opts::from_url(&self.url(db)).expect("valid url")
    }

    /// Runs SQL (several statements allowed) as root; panics on error.
    pub fn exec(&self, sql: &str) {
        let (opts, sql_owned) = (self.opts(""), sql.to_string());
        let result = block_on(async move {
            use mysql_async::prelude::Queryable;
            let mut conn = mysql_async::Conn::new(opts).await?;
            conn.query_drop(sql_owned).await?;
            conn.disconnect().await
        });
        if let Err(e) = result {
            panic!("on MariaDB port {}: {sql}\n  failed: {e}", self.port);
        }
    }

    /// Runs one query as root; rows as text (`None` for NULL). Panics on error.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let (opts, sql_owned) = (self.opts(""), sql.to_string());
        let result = block_on(async move {
            use mysql_async::prelude::Queryable;
            let mut conn = mysql_async::Conn::new(opts).await?;
            let rows: Vec<mysql_async::Row> = conn.query(sql_owned).await?;
            conn.disconnect().await?;
            Ok::<_, mysql_async::Error>(rows.into_iter().map(row_text).collect())
        });
        result.unwrap_or_else(|e| panic!("on MariaDB port {}: {sql}\n  failed: {e}", self.port))
    }
}

impl MariaDb {
    /// SIGKILLs the server (a crash: nothing is flushed) and waits for it.
    pub fn crash(&mut self) {
        self.process.kill();
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.process.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A row of text-protocol values as strings.
pub fn row_text(row: mysql_async::Row) -> Vec<Option<String>> {
    row.unwrap()
        .into_iter()
        .map(|v| match v {
            mysql_async::Value::NULL => None,
            mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            other => Some(other.as_sql(true)),
        })
        .collect()
}

fn mariadbd_args(dir: &Path, port: u16) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--no-defaults".into(),
        format!("--datadir={}", dir.join("data").display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        format!("--socket={}", dir.join("sock").display()),
        format!("--pid-file={}", dir.join("pid").display()),
        format!("--log-error={}", dir.join("error.log").display()),
        // Not the shared /tmp: temporary table names can collide there.
        format!("--tmpdir={}", dir.display()),
        "--skip-name-resolve".into(),
        "--skip-log-bin".into(),
        "--user=root".into(),
        "--innodb-buffer-pool-size=32M".into(),
        "--innodb-log-file-size=8M".into(),
        "--character-set-server=utf8mb4".into(),
        "--collation-server=utf8mb4_general_ci".into(),
        // Several proxies with their pools may share one server.
        "--max-connections=1000".into(),
    ];
    // Speed only: the data is thrown away, durability does not matter.
    args.extend(
        [
            "--loose-innodb-flush-log-at-trx-commit=0",
            "--loose-innodb-doublewrite=0",
            "--loose-innodb-use-native-aio=0",
            "--loose-innodb-buffer-pool-load-at-startup=0",
            "--loose-innodb-buffer-pool-dump-at-shutdown=0",
            "--loose-performance-schema=0",
        ]
        .map(String::from),
    );
    args
}

/// True once `addr` answers with a protocol-10 handshake.
fn handshake_ok(addr: &SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && head[4] == 10
}

/// Polls until the server on `port` sends a handshake, or explains why not.
fn wait_ready(process: &mut Guarded, port: u16, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + MARIADB_START_TIMEOUT;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Some(status) = process.exited() {
            return Err(format!(
                "mariadbd on port {port} exited ({status}).\n{}",
                mariadb_logs(dir)
            ));
        }
        if handshake_ok(&addr) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "mariadbd on port {port} not ready after {MARIADB_START_TIMEOUT:?}.\n{}",
                mariadb_logs(dir)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The tails of a server's error log and stderr, for failure messages.
fn mariadb_logs(dir: &Path) -> String {
    format!(
        "--- error log ({}):\n{}\n--- stderr:\n{}",
        dir.join("error.log").display(),
        tail(&dir.join("error.log"), 30),
        tail(&dir.join("stderr.log"), 10)
    )
}

/// The shared servers of this test process, started on first use.
pub fn cluster() -> &'static [MariaDb] {
    static CLUSTER: OnceLock<Vec<MariaDb>> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        template_datadir();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..CLUSTER_SIZE).map(|_| s.spawn(MariaDb::start)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    })
}

static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Creates one new database on each [`cluster`] instance and returns their
/// names, in instance order: `t_<prefix>_<n>_<pid>_<i>` (utf8mb4).
pub fn fresh_databases(prefix: &str) -> Vec<String> {
    let n = DB_COUNTER.fetch_add(1, Ordering::Relaxed);
    let prefix: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    cluster()
        .iter()
        .enumerate()
        .map(|(i, db)| {
            let name = format!("t_{prefix}_{n}_{}_{i}", std::process::id());
            db.exec(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"));
            name
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------

/// The proxy binary: `SHARDGATE_TEST_BIN` if set (e.g. a release build),
/// else the one cargo built for this test run.
pub fn shardgate_bin() -> PathBuf {
    match std::env::var_os("SHARDGATE_TEST_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_shardgate")),
    }
}

/// A rule file for unsharded passthrough: user `app`/`app_pw` may use the
/// logical schema `schema`; data source `ds_i` is [`cluster`] instance `i`'s
/// database `dbs[i]`; every table lives on `ds_0`. No `[server]` table:
/// [`Proxy::start`] adds it.
pub fn passthrough_rules(schema: &str, dbs: &[String]) -> String {
    let mut rules = format!(
        "[[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [\"{schema}\"]\n\n"
    );
    rules.push_str(&data_sources_toml(dbs));
    rules.push_str(&format!(
        "[schemas.{schema}]\ndefault_data_source = \"ds_0\"\n"
    ));
    rules
}

/// `[data_sources.ds_i]` tables for [`cluster`] instance `i`, database `dbs[i]`.
pub fn data_sources_toml(dbs: &[String]) -> String {
    let servers = cluster();
    assert!(
        dbs.len() <= servers.len(),
        "more databases than cluster instances"
    );
    dbs.iter()
        .zip(servers)
        .enumerate()
        .map(|(i, (db, server))| {
            format!(
                "[data_sources.ds_{i}]\nprimary = \"{}\"\n\n",
                server.data_source_url(db)
            )
        })
        .collect()
}

/// Sets `server.listen` (and `server.data_dir` unless given) in a rule file.
pub fn with_server(rules: &str, listen: &str, data_dir: &Path) -> String {
    let mut table: toml::Table = rules
        .parse()
        .unwrap_or_else(|e| panic!("test rule file is not TOML: {e}\n{rules}"));
    let server = table
        .entry("server")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let server = server.as_table_mut().expect("[server] is a table");
    server.insert("listen".into(), toml::Value::String(listen.into()));
    server
        .entry("data_dir")
        .or_insert_with(|| toml::Value::String(data_dir.display().to_string()));
    toml::to_string(&table).expect("serialize the rule file")
}

/// The proxy binary running with a rule file, on a free port of 127.0.0.1.
/// Killed on drop.
pub struct Proxy {
    /// The client port.
    port: u16,
    /// Holds the rule file, the proxy's data dir and its log.
    dir: PathBuf,
    /// The running `shardgate`.
    process: Guarded,
}

impl Proxy {
    /// Starts the proxy; panics (with its log) if it exits or does not listen.
    /// `rules` is a rule file; its `server.listen` is replaced.
    pub fn start(rules: &str) -> Proxy {
        Proxy::try_start(rules).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the proxy, or returns why it did not come up (with its log).
    pub fn try_start(rules: &str) -> Result<Proxy, String> {
        let dir = new_dir("proxy-");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.join("shardgate.toml");
            // Text that is not TOML goes as it is: the proxy should refuse it.
            let text = match rules.parse::<toml::Table>() {
                Ok(_) => with_server(rules, &format!("127.0.0.1:{port}"), &dir.join("data")),
                Err(_) => rules.to_string(),
            };
            fs::write(&config, text).expect("write the rule file");
            let args = vec!["--config".to_string(), config.display().to_string()];
            let process = Guarded::spawn(&shardgate_bin(), &args, &dir.join("proxy.log"))
                .map_err(|e| format!("cannot run {}: {e}", shardgate_bin().display()))?;
            let mut proxy = Proxy {
                port,
                dir: dir.clone(),
                process,
            };
            match proxy.wait_listening() {
                Ok(()) => return Ok(proxy),
                Err(e) => {
                    last_error = e;
                    proxy.process.kill();
                    if !last_error.to_lowercase().contains("address already in use") {
                        break;
                    }
                }
            }
        }
        Err(last_error)
    }

    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + PROXY_START_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(status) = self.process.exited() {
                return Err(format!(
                    "shardgate exited ({status}) before listening on {addr}.\n--- its log:\n{}",
                    self.log()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "shardgate not listening on {addr} after {PROXY_START_TIMEOUT:?}.\n--- its log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A mysql_async URL for `user` on the logical schema `db` (none when
    /// empty). `prefer_socket=false` stops mysql_async from asking for
    /// `@@socket` and bypassing the proxy; test that path explicitly.
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "mysql://{}:{}@127.0.0.1:{}/{db}?prefer_socket=false",
            url_escape(user),
            url_escape(password),
            self.port
        )
    }

    /// The rule file the proxy was started with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("shardgate.toml")
    }

    /// Replaces the rule file (keeping `server.listen`), e.g. before a reload.
    pub fn rewrite_config(&self, rules: &str) {
        let text = with_server(rules, &self.addr(), &self.dir.join("data"));
        fs::write(self.config_path(), text).expect("write the rule file");
    }

    /// The proxy's stderr and stdout so far.
    pub fn log(&self) -> String {
        self.process.output()
    }

    /// The proxy's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends a signal by name (`"HUP"`, `"TERM"`, ...).
    pub fn signal(&mut self, signal: &str) {
        self.process.signal(signal);
    }

    /// Waits up to `timeout` for the proxy to exit; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process.wait_timeout(timeout)
    }

    /// Starts the proxy with extra environment variables (e.g. FAILPOINTS).
    pub fn start_with_env(rules: &str, env: &[(String, String)]) -> Proxy {
        Proxy::start_with_args(rules, &[], env)
    }

    /// Starts the proxy with extra command-line options (e.g.
    /// `--log-format json`) and environment variables.
    pub fn start_with_args(rules: &str, options: &[&str], env: &[(String, String)]) -> Proxy {
        let dir = new_dir("proxy-");
        let port = free_port();
        let config = dir.join("shardgate.toml");
        let text = with_server(rules, &format!("127.0.0.1:{port}"), &dir.join("data"));
        fs::write(&config, text).expect("write the rule file");
        let mut args = vec!["--config".to_string(), config.display().to_string()];
        args.extend(options.iter().map(|o| o.to_string()));
        let process = Guarded::spawn_with_env(
            std::process::id(),
            &shardgate_bin(),
            &args,
            &dir.join("proxy.log"),
            env,
        )
        .expect("run shardgate");
        let mut proxy = Proxy { port, dir, process };
        proxy.wait_listening().unwrap_or_else(|e| panic!("{e}"));
        proxy
    }

    /// SIGKILLs the proxy (if it still runs) and starts it again on the
    /// same port, rule file and data dir, with `env`; waits until it listens.
    pub fn restart_with_env(&mut self, env: &[(String, String)]) {
        self.process.kill();
        let args = vec![
            "--config".to_string(),
            self.config_path().display().to_string(),
        ];
        self.process = Guarded::spawn_with_env(
            std::process::id(),
            &shardgate_bin(),
            &args,
            &self.dir.join("proxy.log"),
            env,
        )
        .expect("run shardgate");
        self.wait_listening().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Whether the proxy process has exited.
    pub fn has_exited(&mut self) -> bool {
        self.process.exited().is_some()
    }

    /// The proxy's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// Runs `shardgate check --config FILE` on a rule file:
/// (status, stdout, stderr).
pub fn shardgate_check(rules: &str) -> (ExitStatus, String, String) {
    let dir = new_dir("check-");
    let config = dir.join("shardgate.toml");
    fs::write(&config, rules).expect("write the rule file");
    let out = Command::new(shardgate_bin())
        .arg("check")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .expect("run shardgate check");
    let _ = fs::remove_dir_all(&dir);
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The mariadb CLI
// ---------------------------------------------------------------------------

/// The `mariadb` command-line client over TCP to 127.0.0.1:`port` as
/// `user`, tab-separated raw output, no option files.
pub fn mariadb_command(port: u16, user: &str, password: &str) -> Command {
    let mut cmd = Command::new(program("mariadb"));
    cmd.arg("--no-defaults")
        .arg("--protocol=TCP")
        .arg("-h127.0.0.1")
        .arg(format!("-P{port}"))
        .arg(format!("-u{user}"))
        // `--password=` with an empty value does not prompt; `-p` would.
        .arg(format!("--password={password}"))
        .arg("--connect-timeout=10")
        .arg("--batch")
        .arg("--raw");
    cmd
}

/// Runs `mariadb --protocol=TCP -h127.0.0.1 -P<port> -u<user> -p<pw>
/// --batch --raw -e <sql> [db]` (no database when `db` is empty):
/// (status, stdout, stderr).
pub fn mariadb_cli(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    sql: &str,
) -> (ExitStatus, String, String) {
    let mut cmd = mariadb_command(port, user, password);
    cmd.arg("--default-character-set=utf8mb4")
        .arg("-e")
        .arg(sql);
    if !db.is_empty() {
        cmd.arg(db);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mariadb ({e}); install mariadb-client"));
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
