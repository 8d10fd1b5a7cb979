#!/usr/bin/env bash
# Whole-proxy throughput: sysbench against MariaDB directly, through
# zero-work relays (benches/relay.rs) and through shardgate, in interleaved
# short slices so that machine noise hits every endpoint alike.
#
# Endpoints (ENDPOINTS picks among all but sharded; all by default):
#   direct       MariaDB itself
#   relay        the relay copying with two blocking threads per connection
#   tokio-relay  the relay copying with tokio::io::copy_bidirectional, one
#                task per connection on a multi-thread runtime built like the
#                proxy's: the ceiling for any tokio-based proxy hop
#   tpc-relay    the same copy on a thread per connection, each with its own
#                current-thread runtime
#   proxy        shardgate as a passthrough (config/sysbench-unsharded.toml)
#   sharded      shardgate sharding by id over two servers (BENCH_SHARDED=1)
#   replicas     shardgate as the passthrough with two GTID replicas of the
#                server, autocommit reads round-robin over them
#                (BENCH_REPLICAS=1; config/sysbench-replicas.toml)
#
#   scripts/bench.sh
#   SLICE_S=10 ROUNDS=5 scripts/bench.sh
#   ENDPOINTS="direct relay proxy" scripts/bench.sh
#   BENCH_SHARDED=1 scripts/bench.sh    # also every test sharded by id over two servers
#   BENCH_REPLICAS=1 TESTS=oltp_point_select scripts/bench.sh
#     (point selects over two replicas; replicas/proxy is the ratio to
#      watch: oltp_read_only runs in transactions, which stay on the primary)
#   BENCH_SHARDED=1 THREADS=1 TESTS=oltp_read_write scripts/bench.sh
#   BENCH_SHARDED=1 BENCH_XA=1 scripts/bench.sh
#     also a write transaction across both data sources (two single-row
#     UPDATEs, then COMMIT; scripts/bench_xa_transfer.lua) with
#     shardgate_transaction_mode local and xa, at XA_THREADS threads
#     (rows "xa_transfer_tN local|xa", column sharded)
#     (read-write with one thread: several writers can deadlock across data
#      sources, which only innodb_lock_wait_timeout ends)
#
# Settings (environment):
#   SLICE_S=5  ROUNDS=3  THREADS=4  TABLES=4  TABLE_SIZE=10000  WARMUP_S=3
#   TESTS="oltp_point_select oltp_read_only"   MODES="ps text"
#   ENDPOINTS="direct relay tokio-relay tpc-relay proxy"
#   BENCH_SHARDED=0   BENCH_REPLICAS=0   BENCH_DIR=target/bench (logs and datadirs)
#   BENCH_XA=0   XA_THREADS="1 8"   (BENCH_XA=1 needs BENCH_SHARDED=1)
#   SHARDGATE_BIN=path   benchmark that binary instead of building one
#
# Ports: MariaDB 13316 (and 13317 when sharded, 13326 and 13327 the
# replicas), shardgate 3317 (sharded: 3319, replicas: 3322), as in
# config/sysbench-*.toml; relay 3318, tokio-relay 3320, tpc-relay 3321. Only
# the ports of the endpoints that run must be free. A MariaDB already
# listening on 13316/13317 that root can use without a password is reused
# (not with BENCH_REPLICAS=1: the replicas need the script's own primary,
# which keeps a binary log).
#
# "ps" runs use server-side prepared statements (sysbench's default), "text"
# runs use --db-ps-mode=disable. QPS is total queries / total time over all
# rounds; p95 is the median of the rounds' 95th-percentile latencies.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"
cleanup_on_exit

SLICE_S=${SLICE_S:-5}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-4}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-10000}
WARMUP_S=${WARMUP_S:-3}
TESTS=${TESTS:-oltp_point_select oltp_read_only}
MODES=${MODES:-ps text}
ALL_ENDPOINTS="direct relay tokio-relay tpc-relay proxy"
ENDPOINTS=${ENDPOINTS:-$ALL_ENDPOINTS}
BENCH_SHARDED=${BENCH_SHARDED:-0}
BENCH_REPLICAS=${BENCH_REPLICAS:-0}
BENCH_DIR=${BENCH_DIR:-target/bench}
BENCH_XA=${BENCH_XA:-0}
XA_THREADS=${XA_THREADS:-1 8}

DS0_PORT=13316
DS1_PORT=13317
PROXY_PORT=3317
RELAY_PORT=3318
SHARDED_PORT=3319
TOKIO_RELAY_PORT=3320
TPC_RELAY_PORT=3321
REPLICAS_PORT=3322
REPLICA_PORTS=(13326 13327)
UNSHARDED_CONFIG=config/sysbench-unsharded.toml
SHARDED_CONFIG=config/sysbench-sharded.toml
REPLICAS_CONFIG=config/sysbench-replicas.toml

# wanted NAME: true when ENDPOINTS lists the endpoint.
wanted() { [[ " $ENDPOINTS " == *" $1 "* ]]; }
for ep in $ENDPOINTS; do
  [[ " $ALL_ENDPOINTS " == *" $ep "* ]] ||
    die "unknown endpoint '$ep' in ENDPOINTS (known: $ALL_ENDPOINTS; sharded comes with BENCH_SHARDED=1)"
done

ensure_packages
ensure_rust

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
LOGS=$BENCH_DIR/logs
rm -rf "$LOGS" "$BENCH_DIR/ds_0" "$BENCH_DIR/ds_1" "$BENCH_DIR/replica_0" "$BENCH_DIR/replica_1"
mkdir -p "$LOGS"
# The datadirs go when the script ends; the logs stay for a look afterwards.
TRACKED_DIRS+=("$BENCH_DIR/ds_0" "$BENCH_DIR/ds_1" "$BENCH_DIR/replica_0" "$BENCH_DIR/replica_1")
RESULTS=$LOGS/results.txt
: >"$RESULTS"

ports=()
if wanted proxy; then ports+=("$PROXY_PORT"); fi
if wanted relay; then ports+=("$RELAY_PORT"); fi
if wanted tokio-relay; then ports+=("$TOKIO_RELAY_PORT"); fi
if wanted tpc-relay; then ports+=("$TPC_RELAY_PORT"); fi
if [[ $BENCH_SHARDED == 1 ]]; then ports+=("$SHARDED_PORT"); fi
if [[ $BENCH_REPLICAS == 1 ]]; then ports+=("$REPLICAS_PORT" "${REPLICA_PORTS[@]}" "$DS0_PORT"); fi
for port in "${ports[@]}"; do
  if port_open "$port"; then die "port $port is already in use"; fi
done

log "building shardgate and the relay (release)"
if [[ -n ${SHARDGATE_BIN:-} ]]; then
  BIN=$SHARDGATE_BIN
else
  cargo build --release --bin shardgate
  BIN=$PWD/target/release/shardgate
fi
RELAY=
if wanted relay || wanted tokio-relay || wanted tpc-relay; then RELAY=$(build_relay); fi

# --- endpoints ------------------------------------------------------------
# name -> "port user password database"
declare -A ENDPOINT
ENDPOINT[direct]="$DS0_PORT root - sbtest"
ENDPOINT[relay]="$RELAY_PORT root - sbtest"
ENDPOINT[tokio-relay]="$TOKIO_RELAY_PORT root - sbtest"
ENDPOINT[tpc-relay]="$TPC_RELAY_PORT root - sbtest"
ENDPOINT[proxy]="$PROXY_PORT app app_pw sbtest"
ENDPOINT[sharded]="$SHARDED_PORT app app_pw sbtest"
ENDPOINT[replicas]="$REPLICAS_PORT app app_pw sbtest"
# The endpoints measured, in the order of ALL_ENDPOINTS (sharded is added to
# the runs separately).
ACTIVE=()

# sysbench connection options for an endpoint.
conn_args() {
  local port user pw db
  read -r port user pw db <<<"${ENDPOINT[$1]}"
  if [[ $pw == - ]]; then pw=; fi
  printf '%s\n' --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
    --mysql-user="$user" --mysql-password="$pw" --mysql-db="$db"
}

# sb ENDPOINT TEST ARGS..: sysbench with the endpoint's connection options.
sb() {
  local ep=$1 test=$2; shift 2
  local args
  mapfile -t args < <(conn_args "$ep")
  sysbench "$test" "${args[@]}" --tables="$TABLES" --table-size="$TABLE_SIZE" "$@"
}

# start_relay NAME MODE: the relay for endpoint NAME, copying to MariaDB as
# MODE says (see benches/relay.rs); fails the script when it does not listen.
start_relay() {
  local name=$1 mode=$2 port
  read -r port _ <<<"${ENDPOINT[$name]}"
  start_bg "$name" "$LOGS/$name.log" "$RELAY" --mode "$mode" "127.0.0.1:$port" "127.0.0.1:$DS0_PORT"
  wait_tcp "$port" "$BG_PID" 10 || die "$name did not start (log: $LOGS/$name.log)"
}

# Starts shardgate with a rule file and checks that it answers a query;
# returns non-zero (saying why) when it does not, e.g. while the proxy is
# still unfinished.
start_proxy() {
  local name=$1 config=$2 port=$3 check_sql=$4 pid
  if [[ ! -x $BIN ]]; then
    log "$name: no $BIN; skipping the proxy"
    return 1
  fi
  start_bg "$name" "$LOGS/$name.log" env NO_COLOR=1 RUST_LOG="${RUST_LOG:-warn}" "$BIN" --config "$config"
  pid=$BG_PID
  if ! wait_tcp "$port" "$pid" 20; then
    log "$name: shardgate did not listen on $port ($(describe_pid "$pid")); skipping it. Its log:"
    tail -n 20 "$LOGS/$name.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  if ! mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uapp --password=app_pw \
    --connect-timeout=5 sbtest -e "$check_sql" >"$LOGS/$name.check.log" 2>&1; then
    log "$name: shardgate listens on $port but cannot run '$check_sql'; skipping it:"
    cat "$LOGS/$name.check.log" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  return 0
}

# --- servers and data -----------------------------------------------------
if [[ $BENCH_REPLICAS == 1 ]]; then
  # The primary keeps a binary log; each replica replays it from the start,
  # so they are set up before any data exists.
  start_mariadb bench_ds_0 "$DS0_PORT" "$BENCH_DIR/ds_0" --log-bin=bin --server-id=1 --binlog-format=ROW
  for i in 0 1; do
    start_mariadb "bench_replica_$i" "${REPLICA_PORTS[i]}" "$BENCH_DIR/replica_$i" \
      --server-id=$((i + 2)) --read-only=1 --relay-log=relay
    start_replica "$DS0_PORT" "${REPLICA_PORTS[i]}"
  done
else
  start_mariadb bench_ds_0 "$DS0_PORT" "$BENCH_DIR/ds_0"
fi
mariadb_root "$DS0_PORT" -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
log "sysbench prepare: $TABLES tables x $TABLE_SIZE rows, directly on MariaDB"
sb direct oltp_point_select prepare >"$LOGS/prepare.log" 2>&1 ||
  { cat "$LOGS/prepare.log" >&2; die "sysbench prepare failed"; }

if wanted direct; then ACTIVE+=(direct); fi
if wanted relay; then start_relay relay blocking && ACTIVE+=(relay); fi
if wanted tokio-relay; then start_relay tokio-relay tokio && ACTIVE+=(tokio-relay); fi
if wanted tpc-relay; then start_relay tpc-relay tokio-tpc && ACTIVE+=(tpc-relay); fi
if wanted proxy &&
  start_proxy proxy "$UNSHARDED_CONFIG" "$PROXY_PORT" "SELECT COUNT(*) FROM sbtest1"; then
  ACTIVE+=(proxy)
fi

REPLICAS_OK=0
if [[ $BENCH_REPLICAS == 1 ]]; then
  for port in "${REPLICA_PORTS[@]}"; do start_replica "$DS0_PORT" "$port"; done
  if start_proxy replicas "$REPLICAS_CONFIG" "$REPLICAS_PORT" "SELECT COUNT(*) FROM sbtest1"; then
    REPLICAS_OK=1
  fi
fi

SHARDED_OK=0
if [[ $BENCH_SHARDED == 1 ]]; then
  start_mariadb bench_ds_1 "$DS1_PORT" "$BENCH_DIR/ds_1"
  mariadb_root "$DS0_PORT" -e "DROP DATABASE IF EXISTS sbtest_0; CREATE DATABASE sbtest_0"
  mariadb_root "$DS1_PORT" -e "DROP DATABASE IF EXISTS sbtest_1; CREATE DATABASE sbtest_1"
  if start_proxy sharded "$SHARDED_CONFIG" "$SHARDED_PORT" "SELECT 1"; then
    log "sysbench prepare through the sharded proxy (--auto-inc=off: ids come from sysbench)"
    if sb sharded oltp_point_select --auto-inc=off prepare >"$LOGS/prepare-sharded.log" 2>&1; then
      n0=$(mariadb_root "$DS0_PORT" -N -e "SELECT COUNT(*) FROM sbtest_0.sbtest1" || echo 0)
      n1=$(mariadb_root "$DS1_PORT" -N -e "SELECT COUNT(*) FROM sbtest_1.sbtest1" || echo 0)
      log "sbtest1 rows: ds_0 $n0, ds_1 $n1 (expected $TABLE_SIZE in total, about half each)"
      if ((n0 + n1 == TABLE_SIZE && n0 > 0 && n1 > 0)); then
        SHARDED_OK=1
      else
        log "sharded prepare placed rows wrongly; skipping the sharded runs"
      fi
    else
      log "sysbench prepare through the sharded proxy failed; skipping the sharded runs:"
      tail -n 20 "$LOGS/prepare-sharded.log" >&2
    fi
  fi
fi

# --- runs -----------------------------------------------------------------
# Reads a sysbench report on stdin; prints "queries seconds p95_ms errors".
parse_report() {
  awk '
    /^[[:space:]]*queries:/          { q = $2 }
    /^[[:space:]]*ignored errors:/   { e = $3 }
    /^[[:space:]]*total time:/       { t = $3; sub(/s$/, "", t) }
    /95th percentile:/               { p = $3 }
    END {
      if (q == "" || t == "" || p == "") exit 1
      print q, t, p, (e == "" ? 0 : e)
    }'
}

# run_slice TEST MODE ENDPOINT ROUND: one slice; appends a line to RESULTS.
run_slice() {
  local test=$1 mode=$2 ep=$3 round=$4 ps=auto out numbers
  if [[ $mode == text ]]; then ps=disable; fi
  out=$LOGS/$test.$mode.$ep.$round.log
  if sb "$ep" "$test" --db-ps-mode="$ps" --threads="$THREADS" --time="$SLICE_S" \
    --report-interval=0 --percentile=95 run >"$out" 2>&1 &&
    numbers=$(parse_report <"$out"); then
    echo "$test $mode $ep $round $numbers" >>"$RESULTS"
    log "  $test $mode $ep: $(awk '{ printf "%.0f qps, p95 %s ms, %s errors", $1 / $2, $3, $4 }' <<<"$numbers")"
  else
    echo "$test $mode $ep $round failed" >>"$RESULTS"
    log "  $test $mode $ep: FAILED (log: $out)"
    grep -E 'FATAL|ERROR|error' "$out" | head -n 5 >&2 || true
  fi
}

if ((WARMUP_S > 0)); then
  log "warm-up: ${WARMUP_S}s of point selects, direct"
  sb direct oltp_point_select --threads="$THREADS" --time="$WARMUP_S" run >"$LOGS/warmup.log" 2>&1 || true
fi

log "endpoints: ${ACTIVE[*]}$( ((SHARDED_OK)) && echo ' sharded')$( ((REPLICAS_OK)) && echo ' replicas'); $ROUNDS rounds x ${SLICE_S}s slices, $THREADS threads"
for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round/$ROUNDS"
  for test in $TESTS; do
    for mode in $MODES; do
      eps=("${ACTIVE[@]}")
      if ((SHARDED_OK)); then eps+=(sharded); fi
      if ((REPLICAS_OK)); then eps+=(replicas); fi
      # Rotate the order each round so that no endpoint always goes first.
      n=${#eps[@]}
      for ((k = 0; k < n; k++)); do
        run_slice "$test" "$mode" "${eps[(k + round - 1) % n]}" "$round"
      done
    done
  done
done

# The cross-data-source write transaction, local vs xa, interleaved.
if [[ $BENCH_XA == 1 ]] && ((SHARDED_OK)); then
  log "xa_transfer: BEGIN, UPDATE on ds_0, UPDATE on ds_1, COMMIT; local vs xa"
  for ((round = 1; round <= ROUNDS; round++)); do
    for threads in $XA_THREADS; do
      for txmode in local xa; do
        out=$LOGS/xa_transfer.$threads.$txmode.$round.log
        name=xa_transfer_t$threads
        if sb sharded "$PWD/scripts/bench_xa_transfer.lua" --txmode="$txmode" \
          --threads="$threads" --time="$SLICE_S" --report-interval=0 run >"$out" 2>&1 &&
          numbers=$(parse_report <"$out"); then
          echo "$name $txmode sharded $round $numbers" >>"$RESULTS"
          log "  $name $txmode: $(awk '{ printf "%.0f qps, p95 %s ms, %s errors", $1 / $2, $3, $4 }' <<<"$numbers")"
        else
          echo "$name $txmode sharded $round failed" >>"$RESULTS"
          log "  $name $txmode: FAILED (log: $out)"
        fi
      done
    done
  done
elif [[ $BENCH_XA == 1 ]]; then
  log "BENCH_XA=1 needs the sharded proxy (BENCH_SHARDED=1); skipping xa_transfer"
fi

# --- report ---------------------------------------------------------------
echo
# shellcheck disable=SC2086 # one argument per endpoint
python3 - "$RESULTS" $ENDPOINTS <<'PY'
import collections, statistics, sys

runs = collections.defaultdict(list)      # (test, mode, ep) -> [(q, t, p95, err)]
failed = collections.Counter()
order = []
for line in open(sys.argv[1]):
    f = line.split()
    key = tuple(f[:3])
    if (key[0], key[1]) not in order:
        order.append((key[0], key[1]))
    if f[4] == "failed":
        failed[key] += 1
    else:
        runs[key].append((float(f[4]), float(f[5]), float(f[6]), int(float(f[7]))))

# Columns: the endpoints asked for, in the script's order, measured or not.
eps = [e for e in ["direct", "relay", "tokio-relay", "tpc-relay", "proxy"] if e in sys.argv[2:]]
for extra in ("sharded", "replicas"):
    if any(k[2] == extra for k in list(runs) + list(failed)):
        eps.append(extra)

def stats(key):
    r = runs.get(key)
    if not r:
        return None
    return (sum(x[0] for x in r) / sum(x[1] for x in r),
            statistics.median(x[2] for x in r),
            sum(x[3] for x in r))

# Ratios of qps: (label, numerator, denominator), shown when both are columns.
ratios = [("relay/direct", "relay", "direct"), ("proxy/direct", "proxy", "direct"),
          ("proxy/relay", "proxy", "relay"), ("tokio/relay", "tokio-relay", "relay"),
          ("proxy/tokio", "proxy", "tokio-relay"), ("sharded/proxy", "sharded", "proxy"),
          ("replicas/proxy", "replicas", "proxy"), ("replicas/direct", "replicas", "direct")]
ratios = [r for r in ratios if r[1] in eps and r[2] in eps]

def ratio(a, b):
    return f"{a[0] / b[0]:.2f}" if a and b and b[0] else "-"

def width(e):
    return max(9, len(e) + 4)

head = f"{'test':<18} {'mode':<5}"
head += "".join(f" {e + ' qps':>{width(e)}} {'p95 ms':>7}" for e in eps)
head += "".join(f" {label:>{len(label)}}" for label, _, _ in ratios)
print(head)
print("-" * len(head))
for test, mode in order:
    s = {e: stats((test, mode, e)) for e in eps}
    row = f"{test:<18} {mode:<5}"
    for e in eps:
        w = width(e)
        if s[e]:
            row += f" {s[e][0]:>{w}.0f} {s[e][1]:>7.2f}"
        elif failed[(test, mode, e)]:
            row += f" {'failed':>{w}} {'':>7}"
        else:
            row += f" {'-':>{w}} {'':>7}"
    row += "".join(f" {ratio(s[a], s[b]):>{len(label)}}" for label, a, b in ratios)
    print(row)
errors = {k: v for k, v in ((k, sum(x[3] for x in r)) for k, r in runs.items()) if v}
for k, v in errors.items():
    print(f"note: {' '.join(k)}: {v} ignored errors reported by sysbench")
for k, v in failed.items():
    print(f"note: {' '.join(k)}: {v} slice(s) failed")
PY
echo
log "raw results and sysbench logs: $LOGS"
