#!/usr/bin/env bash
# The proxy's memory under big results: a table of ROWS rows sharded by
# `id mod 2` over two MariaDB servers, read whole through the release proxy
# with the mariadb CLI (scatter `SELECT * FROM t`, and the merged `SELECT *
# FROM t ORDER BY id`), then by a client that reads one row every few
# milliseconds (PyMySQL, unbuffered cursor) and hangs up halfway. The
# proxy's RSS (/proc/PID/status VmRSS, sampled; VmHWM, reset per phase
# through /proc/PID/clear_refs) is printed per phase next to its idle RSS.
#
#   scripts/bench_memory.sh
#   ROWS=200000 SLOW_S=4 scripts/bench_memory.sh
#
# Settings (environment):
#   ROWS=1000000         rows in total, half on each server
#   SLOW_S=6             how long the slow client reads
#   SLOW_DELAY_MS=2      its pause after each row
#   FLAT_MB=16           RSS growth allowed while the slow client reads
#   PEAK_MB=128          RSS growth over idle allowed while a result streams
#   SAMPLE_MS=50         RSS sampling interval
#   MEM_DIR=target/bench-memory   logs and datadirs (datadirs removed at exit)
#   SHARDGATE_BIN=path   measure that binary instead of building the release one
#
# The data is inserted directly into the actual tables (INSERT ... SELECT
# from MariaDB's SEQUENCE engine), not through the proxy, for speed. Exits
# non-zero when a query fails, a result is incomplete, or memory grows past
# the limits above; the figures are printed either way.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"
cleanup_on_exit

ROWS=${ROWS:-1000000}
SLOW_S=${SLOW_S:-6}
SLOW_DELAY_MS=${SLOW_DELAY_MS:-2}
FLAT_MB=${FLAT_MB:-16}
PEAK_MB=${PEAK_MB:-128}
SAMPLE_MS=${SAMPLE_MS:-50}
MEM_DIR=${MEM_DIR:-target/bench-memory}

((ROWS >= 2 && ROWS % 2 == 0)) || die "ROWS must be an even number >= 2"

ensure_packages
PYTHON=$(pymysql_python) || die "no python3 with PyMySQL (apt-get install python3-pymysql)"

if [[ -n ${SHARDGATE_BIN:-} ]]; then
  BIN=$SHARDGATE_BIN
else
  ensure_rust
  log "building shardgate (release)"
  cargo build --release --bin shardgate
  BIN=$PWD/target/release/shardgate
fi
[[ -x $BIN ]] || die "no shardgate binary at $BIN"

mkdir -p "$MEM_DIR"
MEM_DIR=$(cd "$MEM_DIR" && pwd)
LOGS=$MEM_DIR/logs
rm -rf "$LOGS" "$MEM_DIR/ds_0" "$MEM_DIR/ds_1" "$MEM_DIR/proxy"
mkdir -p "$LOGS" "$MEM_DIR/proxy"
TRACKED_DIRS+=("$MEM_DIR/ds_0" "$MEM_DIR/ds_1")

DS0_PORT=$(free_port)
DS1_PORT=$(free_port)
PROXY_PORT=$(free_port)
[[ $DS0_PORT != "$DS1_PORT" && $DS1_PORT != "$PROXY_PORT" && $DS0_PORT != "$PROXY_PORT" ]] ||
  die "free_port returned the same port twice; run again"

# --- servers and data -----------------------------------------------------
MARIADB_BUFFER_POOL=${MARIADB_BUFFER_POOL:-256M} start_mariadb mem_ds_0 "$DS0_PORT" "$MEM_DIR/ds_0"
MARIADB_BUFFER_POOL=${MARIADB_BUFFER_POOL:-256M} start_mariadb mem_ds_1 "$DS1_PORT" "$MEM_DIR/ds_1"

HALF=$((ROWS / 2))
log "loading $ROWS rows ($HALF per server) directly into the actual tables"
load() {
  local port=$1 db=$2 parity=$3
  mariadb_root "$port" -e "
    DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4; USE $db;
    CREATE TABLE $db.t (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL,
      c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
    INSERT INTO $db.t
      SELECT seq * 2 + $parity, seq % 1000,
             CONCAT(MD5(seq), MD5(seq * 3), MD5(seq * 7), LEFT(MD5(seq * 11), 24)),
             LEFT(CONCAT(MD5(seq * 13), MD5(seq * 17)), 60)
      FROM seq_0_to_$((HALF - 1));"
}
load "$DS0_PORT" mem_0 0 &
LOAD0=$!
load "$DS1_PORT" mem_1 1 &
LOAD1=$!
wait "$LOAD0" || die "loading ds_0 failed"
wait "$LOAD1" || die "loading ds_1 failed"

# --- the proxy ------------------------------------------------------------
CONFIG=$MEM_DIR/proxy/shardgate.toml
cat >"$CONFIG" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
data_dir = "$MEM_DIR/proxy/data"

[[users]]
name = "app"
password = "app_pw"
schemas = ["memdb"]

[data_sources.ds_0]
primary = "mysql://root:@127.0.0.1:$DS0_PORT/mem_0"

[data_sources.ds_1]
primary = "mysql://root:@127.0.0.1:$DS1_PORT/mem_1"

[schemas.memdb]
default_data_source = "ds_0"

[schemas.memdb.tables.t]
nodes = "ds_\${0..1}.t"
sharding = { column = "id", algorithm = "id_mod" }

[schemas.memdb.algorithms]
id_mod = { type = "mod" }
EOF
start_bg shardgate "$LOGS/proxy.log" env NO_COLOR=1 RUST_LOG="${RUST_LOG:-warn}" "$BIN" --config "$CONFIG"
PROXY_PID=$BG_PID
wait_tcp "$PROXY_PORT" "$PROXY_PID" 30 ||
  { tail -n 20 "$LOGS/proxy.log" >&2; die "shardgate did not listen ($(describe_pid "$PROXY_PID"))"; }

# The mariadb CLI through the proxy, streaming (--quick): no client-side buffering.
proxy_cli() {
  mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$PROXY_PORT" -uapp --password=app_pw \
    --connect-timeout=10 --quick --batch --skip-column-names memdb "$@"
}

# --- memory probes --------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$PROXY_PID/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
# Resets VmHWM to the current RSS (Linux >= 4.0); the sampler covers older ones.
reset_hwm() { echo 5 >"/proc/$PROXY_PID/clear_refs" 2>/dev/null || true; }

SAMPLER_PID=
# Samples the proxy's VmRSS every SAMPLE_MS into FILE (the maximum so far).
start_sampler() {
  local file=$1 interval
  interval=$(awk -v ms="$SAMPLE_MS" 'BEGIN { printf "%.3f", ms / 1000 }')
  (
    max=0
    while kill -0 "$PROXY_PID" 2>/dev/null; do
      r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY_PID/status" 2>/dev/null || echo 0)
      if ((r > max)); then max=$r; echo "$max" >"$file"; fi
      sleep "$interval"
    done
  ) &
  SAMPLER_PID=$!
  TRACKED_PIDS+=("$SAMPLER_PID")
}
stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
}

FAILED=0
REPORT=$LOGS/report.txt
: >"$REPORT"
# One line of the report: phase, rows, seconds, before, peak, after, verdict.
row() { printf '%-40s %9s %8s %10s %9s %9s  %s\n' "$@" | tee -a "$REPORT"; }

# Warm the pools so that idle means "ready to serve".
proxy_cli -e "SELECT COUNT(*) FROM t WHERE id = 1" >/dev/null ||
  { tail -n 20 "$LOGS/proxy.log" >&2; die "the proxy cannot answer a point select"; }
sleep 1
IDLE_KB=$(rss_kb)

# big NAME SQL [sorted]: reads the whole result with the CLI while sampling
# RSS; with `sorted`, the first column must come in ascending order.
big() {
  local name=$1 sql=$2 sorted=${3:-} before peak hwm after t0 t1 rows unsorted status verdict
  reset_hwm
  before=$(rss_kb)
  echo 0 >"$LOGS/$name.peak"
  start_sampler "$LOGS/$name.peak"
  t0=$(date +%s.%N)
  status=0
  proxy_cli -e "$sql" 2>"$LOGS/$name.err" |
    awk '{ n++; if (n > 1 && $1 + 0 < prev) bad++; prev = $1 + 0 } END { print n + 0, bad + 0 }' \
      >"$LOGS/$name.rows" || status=$?
  if [[ -s $LOGS/$name.err ]]; then status=1; fi
  t1=$(date +%s.%N)
  stop_sampler
  hwm=$(hwm_kb)
  peak=$(cat "$LOGS/$name.peak")
  if ((hwm > peak)); then peak=$hwm; fi
  sleep 1
  after=$(rss_kb)
  read -r rows unsorted <"$LOGS/$name.rows"
  if ((status != 0)); then
    verdict="FAILED: $(grep -m1 -E 'ERROR|error' "$LOGS/$name.err" || head -c 200 "$LOGS/$name.err")"
    FAILED=1
  elif ((rows != ROWS)); then
    verdict="INCOMPLETE: $rows of $ROWS rows"
    FAILED=1
  elif [[ $sorted == sorted ]] && ((unsorted > 0)); then
    verdict="UNSORTED: $unsorted rows out of order"
    FAILED=1
  elif ((peak - IDLE_KB > PEAK_MB * 1024)); then
    verdict="GREW: peak $(mb $((peak - IDLE_KB))) MB over idle (limit $PEAK_MB MB)"
    FAILED=1
  else
    verdict=ok
  fi
  row "$name" "$rows" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
    "$(mb "$before")" "$(mb "$peak")" "$(mb "$after")" "$verdict"
}

# slow NAME SQL: a client that reads one row every SLOW_DELAY_MS for SLOW_S
# seconds and then hangs up; RSS sampled every half second must stay flat.
slow() {
  local name=$1 sql=$2 out verdict after
  out=$LOGS/$name.slow
  if ! "$PYTHON" - "$PROXY_PORT" "$PROXY_PID" "$sql" "$SLOW_S" "$SLOW_DELAY_MS" >"$out" 2>"$LOGS/$name.err" <<'PY'; then
import sys, time
import pymysql, pymysql.cursors

port, pid, sql = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seconds, delay = float(sys.argv[4]), float(sys.argv[5]) / 1000

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

conn = pymysql.connect(host="127.0.0.1", port=port, user="app", password="app_pw",
                       database="memdb", cursorclass=pymysql.cursors.SSCursor)
cur = conn.cursor()
start = time.monotonic()
cur.execute(sql)
rows, samples, next_sample = 0, [], start
while True:
    now = time.monotonic()
    if now >= next_sample:
        samples.append((round(now - start, 1), rss_kb()))
        next_sample += 0.5
    if now - start >= seconds:
        break
    if cur.fetchone() is None:
        break
    rows += 1
    time.sleep(delay)
# Hang up mid-result: the proxy must let go of the rest.
conn.close()
print(rows)
print(" ".join(f"{t}:{kb}" for t, kb in samples))
PY
    row "$name" - - - - - "FAILED: $(tail -n 1 "$LOGS/$name.err")"
    FAILED=1
    return
  fi
  sleep 1
  after=$(rss_kb)
  "$PYTHON" - "$out" "$FLAT_MB" "$after" "$name" >"$LOGS/$name.verdict" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
rows = int(lines[0])
samples = [(float(t), int(kb)) for t, kb in (s.split(":") for s in lines[1].split())]
flat_mb, after, name = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# From one second in (the result is flowing), RSS must not climb.
settled = [kb for t, kb in samples if t >= 1.0] or [kb for _, kb in samples]
base, top = settled[0], max(settled)
growth = (top - base) / 1024
verdict = "flat" if growth <= flat_mb else f"GREW {growth:.1f} MB while reading"
print(rows, samples[0][1], top, after, f"{growth:.1f}", verdict)
print("  RSS MB at t(s): " + ", ".join(f"{t:g}s {kb / 1024:.1f}" for t, kb in samples))
PY
  local rows first top growth v
  read -r rows first top after growth v < <(head -n 1 "$LOGS/$name.verdict")
  if [[ $v != flat ]]; then
    v=$(head -n 1 "$LOGS/$name.verdict" | cut -d' ' -f6-)
    FAILED=1
  fi
  row "$name" "$rows" "$SLOW_S" "$(mb "$first")" "$(mb "$top")" "$(mb "$after")" \
    "$v (+$growth MB after 1 s)"
  tail -n 1 "$LOGS/$name.verdict" | tee -a "$REPORT"
}

# --- runs -----------------------------------------------------------------
echo
row phase rows seconds "before MB" "peak MB" "after MB" verdict
row "idle (pools warm)" - - "$(mb "$IDLE_KB")" - - -
big "scatter SELECT * FROM t" "SELECT * FROM t"
big "merged SELECT * FROM t ORDER BY id" "SELECT * FROM t ORDER BY id" sorted
slow "slow client, scatter" "SELECT * FROM t"
slow "slow client, ORDER BY id" "SELECT * FROM t ORDER BY id"
row "idle at the end" - - "$(mb "$(rss_kb)")" - - -
echo
if ! kill -0 "$PROXY_PID" 2>/dev/null; then
  log "the proxy died ($(describe_pid "$PROXY_PID")); its log: $LOGS/proxy.log"
  FAILED=1
fi
log "report: $REPORT; logs: $LOGS"
exit "$FAILED"
