# Shared shell functions for scripts/*.sh. Source it; it sets no options of
# its own beyond what the caller has (callers use `set -euo pipefail`).
#
#   ensure_packages          apt-get install what is missing (MariaDB, mariadb-test, sysbench, PyMySQL, a C linker)
#   find_mysql_test_dir      the mariadb-test package's mysql-test directory
#   ensure_rust              cargo with rustfmt and clippy (rustup if there is none)
#   ensure_client_venv DIR REQS
#                            a Python virtualenv in DIR with the pinned packages of REQS (pip; kept between runs)
#   ensure_node_modules DIR  npm ci in DIR (Node.js and npm from apt if missing; kept between runs)
#   start_mariadb NAME PORT DIR [MARIADBD_OPTION..]
#                            a throwaway MariaDB on 127.0.0.1:PORT, datadir DIR/data, root without password
#   start_replica PRIMARY_PORT PORT
#                            the MariaDB on PORT replicates (GTID) from the one on PRIMARY_PORT
#   mariadb_root PORT ARGS.. the mariadb CLI as root over TCP
#   start_bg NAME LOG CMD..  a background process stopped by stop_all; sets BG_PID
#   wait_tcp PORT PID SECS   wait until PORT accepts TCP while PID lives
#   describe_pid PID         "still running" or "exited with status N"
#   free_port                an unused TCP port on 127.0.0.1
#   stop_all                 stop everything started here (installed as an EXIT trap by cleanup_on_exit)

# Pids started by these functions, stopped in reverse order by stop_all.
TRACKED_PIDS=()
# Directories removed by stop_all.
TRACKED_DIRS=()

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly when we are root, else with sudo.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# The repository root (the directory holding Cargo.toml).
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# Path of a program that may live in an sbin directory not on PATH.
find_prog() {
  local name=$1 dir
  if have "$name"; then command -v "$name"; return 0; fi
  for dir in /usr/sbin /usr/local/sbin /sbin; do
    if [[ -x $dir/$name ]]; then echo "$dir/$name"; return 0; fi
  done
  return 1
}

# The mysql-test directory of the mariadb-test package (holds main/*.test).
find_mysql_test_dir() {
  local dir
  for dir in /usr/share/mysql/mysql-test /usr/share/mariadb/mysql-test /usr/mysql-test \
    /usr/local/mysql/mysql-test; do
    if [[ -d $dir/main ]]; then echo "$dir"; return 0; fi
  done
  return 1
}

# A python3 that can import pymysql (Debian's python3-pymysql lives in
# /usr/bin/python3, which another python3 earlier on PATH may hide).
pymysql_python() {
  local py
  for py in /usr/bin/python3 "$(command -v python3 || true)"; do
    if [[ -n $py && -x $py ]] && "$py" -c 'import pymysql' >/dev/null 2>&1; then
      echo "$py"; return 0
    fi
  done
  return 1
}

# Installs, with apt-get, whatever of the following is missing: mariadb-server,
# mariadb-client, mariadb-test (MariaDB's regression suite and mysqltest),
# sysbench, python3-pymysql, and a C linker for cargo.
# `apt-get update` runs only when something is missing.
ensure_packages() {
  local missing=()
  find_prog mariadbd >/dev/null || missing+=(mariadb-server)
  find_prog mariadb-install-db >/dev/null || missing+=(mariadb-server)
  have mariadb || missing+=(mariadb-client)
  { have mariadb-test && find_mysql_test_dir >/dev/null; } || missing+=(mariadb-test)
  have sysbench || missing+=(sysbench)
  pymysql_python >/dev/null || missing+=(python3 python3-pymysql)
  have cc || missing+=(gcc libc6-dev)
  ((${#missing[@]} == 0)) && return 0
  have apt-get || die "missing ${missing[*]} and no apt-get to install them"
  # Deduplicate (mariadb-server may be listed twice).
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Makes sure cargo, rustfmt and clippy are available; installs a minimal
# rustup toolchain when there is no cargo at all.
ensure_rust() {
  if ! have cargo && [[ -x $HOME/.cargo/bin/cargo ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! have cargo; then
    log "no cargo found: installing a Rust toolchain with rustup"
    if ! have curl; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl ca-certificates
    fi
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
      sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    have rustup || die "cargo fmt / cargo clippy are missing and there is no rustup to add them"
    rustup component add rustfmt clippy
  fi
}

# ensure_client_venv DIR REQS: a virtualenv in DIR holding the packages
# pinned in the requirements file REQS, installed from PyPI with pip. A
# stamp of REQS inside DIR skips pip when nothing changed since the last run.
ensure_client_venv() {
  local dir=$1 reqs=$2 py
  if [[ -f $dir/.requirements && -x $dir/bin/python ]] && cmp -s "$reqs" "$dir/.requirements"; then
    return 0
  fi
  py=$(command -v python3) || die "no python3 for the client virtualenv"
  if ! "$py" -m venv --help >/dev/null 2>&1 || ! "$py" -c 'import ensurepip' >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
  fi
  log "installing $(grep -vc '^#' "$reqs") Python packages into $dir"
  rm -rf "$dir"
  "$py" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$reqs"
  cp "$reqs" "$dir/.requirements"
}

# ensure_node_modules DIR: `npm ci` in DIR (its package-lock.json decides
# the versions), unless node_modules already matches the lock file.
ensure_node_modules() {
  local dir=$1
  if ! have node || ! have npm; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
  fi
  if [[ -f $dir/node_modules/.package-lock.json ]] &&
    cmp -s "$dir/package-lock.json" "$dir/node_modules/.lock-stamp"; then
    return 0
  fi
  log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.lock-stamp"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a TCP port that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The mariadb CLI as root (no password) over TCP to 127.0.0.1:PORT.
mariadb_root() {
  local port=$1; shift
  mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uroot --password= \
    --connect-timeout=5 "$@"
}

# Waits until 127.0.0.1:PORT accepts TCP. Fails if PID exits first or after
# SECS seconds.
wait_tcp() {
  local port=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 20; i++)); do
    port_open "$port" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Says whether the background process PID is still running or how it ended.
describe_pid() {
  local pid=$1 status=0
  if kill -0 "$pid" 2>/dev/null; then echo "still running"; return 0; fi
  wait "$pid" 2>/dev/null || status=$?
  echo "exited with status $status"
}

# Starts CMD.. in the background with its output in LOG; stop_all stops it.
# The pid is left in BG_PID.
start_bg() {
  local name=$1 logfile=$2; shift 2
  "$@" </dev/null >"$logfile" 2>&1 &
  BG_PID=$!
  TRACKED_PIDS+=("$BG_PID")
  log "$name started (pid $BG_PID, log $logfile)"
}

# start_mariadb NAME PORT DIR [OPTION..]: a MariaDB server for scripts and
# benchmarks; OPTIONs go to mariadbd after the defaults (e.g. --log-bin=bin
# --server-id=1, which override --skip-log-bin).
# DIR/data is created with mariadb-install-db unless it exists (so a demo
# keeps its data between runs). Root has no password over TCP; anonymous
# users are dropped (they would shadow 'app'@'%' on localhost). If a MariaDB
# that root can use already answers on PORT it is reused, and not stopped.
# Tuning: MARIADB_BUFFER_POOL (default 128M).
start_mariadb() {
  local name=$1 port=$2 dir=$3 mariadbd install_db sock i
  shift 3
  if port_open "$port"; then
    if mariadb_root "$port" -e 'SELECT 1' >/dev/null 2>&1; then
      log "$name: reusing the MariaDB already listening on port $port"
      return 0
    fi
    die "$name: port $port is in use by something that root cannot log in to"
  fi
  mariadbd=$(find_prog mariadbd) || die "mariadbd not found (install mariadb-server)"
  install_db=$(find_prog mariadb-install-db) || die "mariadb-install-db not found"
  mkdir -p "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  if [[ ! -d $dir/data/mysql ]]; then
    rm -rf "$dir/data"
    # A private tmpdir: concurrent bootstraps in a shared /tmp can collide.
    if ! "$install_db" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=normal --skip-test-db \
      --innodb-log-file-size=48M >"$dir/install.log" 2>&1; then
      tail -n 30 "$dir/install.log" >&2
      die "$name: mariadb-install-db failed (log: $dir/install.log)"
    fi
  fi
  # Unix socket paths are limited to ~107 bytes.
  sock=$dir/sock
  ((${#sock} < 100)) || sock=/tmp/shardgate-$name-$port.sock
  start_bg "$name (mariadbd :$port)" "$dir/stderr.log" "$mariadbd" --no-defaults \
    --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$sock" --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
    --tmpdir="$dir/tmp" --skip-name-resolve --skip-log-bin --user=root \
    --innodb-buffer-pool-size="${MARIADB_BUFFER_POOL:-128M}" --innodb-log-file-size=48M \
    --innodb-flush-log-at-trx-commit=2 --loose-innodb-doublewrite=0 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-connections=2000 "$@"
  for ((i = 0; i < 1200; i++)); do
    if mariadb_root "$port" -e 'SELECT 1' >/dev/null 2>&1; then
      mariadb_root "$port" -e "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES"
      log "$name: MariaDB ready on 127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$BG_PID" 2>/dev/null; then
      tail -n 30 "$dir/error.log" >&2 || true
      die "$name: mariadbd exited during start-up (log: $dir/error.log)"
    fi
    sleep 0.05
  done
  tail -n 30 "$dir/error.log" >&2 || true
  die "$name: MariaDB on port $port not ready after 60 s"
}

# start_replica PRIMARY_PORT PORT: makes the MariaDB on PORT (started with
# --server-id and --read-only=1) replicate from the one on PRIMARY_PORT (which
# has --log-bin) with GTIDs, unless it already replicates; waits until it
# has caught up.
start_replica() {
  local primary=$1 port=$2 pos i
  if [[ -z $(mariadb_root "$port" -N -e 'SHOW SLAVE STATUS') ]]; then
    mariadb_root "$port" -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary,
      MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos,
      MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1; START SLAVE"
  fi
  pos=$(mariadb_root "$primary" -N -e 'SELECT @@gtid_binlog_pos')
  i=$(mariadb_root "$port" -N -e "SELECT MASTER_GTID_WAIT('$pos', 60)")
  [[ $i == 0 ]] || die "the replica on port $port did not catch up with port $primary"
  log "MariaDB on port $port replicates from port $primary (at $pos)"
}

# Stops everything start_bg started, newest first (TERM, then KILL after
# 20 s), and removes TRACKED_DIRS.
stop_all() {
  local i pid n
  for ((i = ${#TRACKED_PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${TRACKED_PIDS[i]}" 2>/dev/null || true
  done
  for pid in ${TRACKED_PIDS[@]+"${TRACKED_PIDS[@]}"}; do
    for ((n = 0; n < 200; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  TRACKED_PIDS=()
  for i in ${TRACKED_DIRS[@]+"${TRACKED_DIRS[@]}"}; do
    rm -rf "$i"
  done
  TRACKED_DIRS=()
}

# Calls stop_all when the script ends, also on Ctrl-C and TERM.
cleanup_on_exit() {
  trap stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# build_relay: builds the zero-work relay of benches/relay.rs (bench
# profile) and prints its executable's path.
build_relay() {
  local relay
  relay=$(cargo bench --bench relay --no-run --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
            and msg.get("target", {}).get("name") == "relay"):
        print(msg["executable"])
')
  [[ -x $relay ]] || die "could not find the relay executable in cargo's output"
  printf '%s\n' "$relay"
}
