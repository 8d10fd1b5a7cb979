#!/usr/bin/env bash
# Instructions the proxy executes per statement, counted by valgrind's
# callgrind: sysbench point selects (one thread) through a release
# shardgate in unsharded passthrough, prepared and then text. Unlike
# queries per second, the count repeats to within a few instructions from
# run to run, whatever else the machine is doing, so it shows what a change
# to the hot path costs or saves.
#
# More endpoints are counted the same way: `sharded`, sysbench's table
# sharded by id over two MariaDB servers (as bench.sh's BENCH_SHARDED=1;
# not in the default set), and with it `xa`: bench.sh's cross-data-source
# write transaction (BEGIN, an UPDATE on each data source, COMMIT) in local
# and in xa mode, counted per transaction; the same passthrough with
# its reads on two GTID replicas (round-robin), which must cost no more
# than reads on the primary; and the zero-work relay of benches/relay.rs
# in its thread-per-connection tokio mode (one current-thread runtime per
# client, as a shardgate worker runs one client): the floor that any proxy
# hop built on tokio pays, whatever it does.
#
#   scripts/bench_instructions.sh
#   EVENTS=50000 ENDPOINTS=proxy scripts/bench_instructions.sh
#
# Settings (environment):
#   EVENTS=20000   statements counted per mode (after 2,000 not counted)
#   ENDPOINTS="proxy replicas relay"   which endpoints to count (also: sharded, xa)
#   INSTR_DIR=target/bench-instructions   logs, profiles and the datadirs
#   SHARDGATE_BIN=path   measure that binary instead of building one
#
# The profiles stay in INSTR_DIR; `callgrind_annotate FILE` shows where the
# instructions go.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"
cleanup_on_exit

EVENTS=${EVENTS:-20000}
WARMUP_EVENTS=2000
ENDPOINTS=${ENDPOINTS:-proxy replicas relay}
INSTR_DIR=${INSTR_DIR:-target/bench-instructions}
wanted() { [[ " $ENDPOINTS " == *" $1 "* ]]; }

ensure_packages
ensure_rust
if ! have valgrind; then
  log "installing: valgrind"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind
fi

mkdir -p "$INSTR_DIR"
INSTR_DIR=$(cd "$INSTR_DIR" && pwd)
rm -rf "$INSTR_DIR/ds_0" "$INSTR_DIR/ds_1" "$INSTR_DIR/replica_0" "$INSTR_DIR/replica_1" "$INSTR_DIR"/callgrind.*
TRACKED_DIRS+=("$INSTR_DIR/ds_0" "$INSTR_DIR/ds_1" "$INSTR_DIR/replica_0" "$INSTR_DIR/replica_1")

if [[ -n ${SHARDGATE_BIN:-} ]]; then
  BIN=$SHARDGATE_BIN
else
  log "building shardgate (release)"
  cargo build --release --bin shardgate
  BIN=$PWD/target/release/shardgate
fi
if wanted relay; then
  RELAY=$(build_relay)
fi

# The primary keeps a binary log from the start, so replicas replay all of it.
DS_PORT=$(free_port)
start_mariadb instr_ds_0 "$DS_PORT" "$INSTR_DIR/ds_0" --log-bin=bin --server-id=1 --binlog-format=ROW
REPLICA_PORTS=()
if wanted replicas; then
  for i in 0 1; do
    port=$(free_port)
    start_mariadb "instr_replica_$i" "$port" "$INSTR_DIR/replica_$i" \
      --server-id=$((i + 2)) --read-only=1 --relay-log=relay
    start_replica "$DS_PORT" "$port"
    REPLICA_PORTS+=("$port")
  done
fi
mariadb_root "$DS_PORT" -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
if wanted sharded || wanted xa; then
  DS1_PORT=$(free_port)
  start_mariadb instr_ds_1 "$DS1_PORT" "$INSTR_DIR/ds_1"
  mariadb_root "$DS_PORT" -e "DROP DATABASE IF EXISTS sbtest_0; CREATE DATABASE sbtest_0"
  mariadb_root "$DS1_PORT" -e "DROP DATABASE IF EXISTS sbtest_1; CREATE DATABASE sbtest_1"
fi

# proxy_config FILE PORT [REPLICA_PORT...]: the passthrough's rule file.
proxy_config() {
  local file=$1 port=$2 replicas="" r
  shift 2
  for r in "$@"; do replicas+="${replicas:+, }\"mysql://root:@127.0.0.1:$r/sbtest\""; done
  {
    printf '[server]\nlisten = "127.0.0.1:%s"\ndata_dir = "%s"\n\n' "$port" "$INSTR_DIR/proxy-$port"
    printf '[[users]]\nname = "app"\npassword = "app_pw"\nschemas = ["sbtest"]\n\n'
    printf '[data_sources.ds_0]\nprimary = "mysql://root:@127.0.0.1:%s/sbtest"\n' "$DS_PORT"
    if (($# > 0)); then
      printf 'replicas = [%s]\nread_balance = "round_robin"\n' "$replicas"
    fi
    printf '\n[schemas.sbtest]\ndefault_data_source = "ds_0"\n'
  } >"$file"
}

# sharded_config FILE PORT: sbtest1 sharded by `id mod 2` over ds_0 and ds_1.
sharded_config() {
  {
    printf '[server]\nlisten = "127.0.0.1:%s"\ndata_dir = "%s"\n\n' "$2" "$INSTR_DIR/proxy-$2"
    printf '[[users]]\nname = "app"\npassword = "app_pw"\nschemas = ["sbtest"]\n\n'
    printf '[data_sources.ds_0]\nprimary = "mysql://root:@127.0.0.1:%s/sbtest_0"\n\n' "$DS_PORT"
    printf '[data_sources.ds_1]\nprimary = "mysql://root:@127.0.0.1:%s/sbtest_1"\n\n' "$DS1_PORT"
    printf '[schemas.sbtest]\ndefault_data_source = "ds_0"\n\n'
    printf '[schemas.sbtest.tables.sbtest1]\nnodes = "ds_${0..1}.sbtest1"\n'
    printf 'sharding = { column = "id", algorithm = "id_mod" }\n\n'
    printf '[schemas.sbtest.algorithms]\nid_mod = { type = "mod" }\n'
  } >"$1"
}

# sb PORT USER PASSWORD MODE EVENTS [OPTION...] ACTION: sysbench point selects
# (PASSWORD `-` for none).
sb() {
  local ps=auto password=()
  if [[ $4 == text ]]; then ps=disable; fi
  if [[ $3 != - ]]; then password=(--mysql-password="$3"); fi
  sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 \
    --mysql-port="$1" --mysql-user="$2" "${password[@]}" --mysql-db=sbtest \
    --tables=1 --table-size=1000 --threads=1 --db-ps-mode="$ps" --time=0 --events="$5" "${@:6}"
}

sb "$DS_PORT" root - ps 0 prepare >"$INSTR_DIR/prepare.log" 2>&1 ||
  { cat "$INSTR_DIR/prepare.log" >&2; die "sysbench prepare failed"; }
for port in "${REPLICA_PORTS[@]}"; do start_replica "$DS_PORT" "$port"; done

# under_callgrind NAME PORT COMMAND...: starts COMMAND under callgrind and
# waits until it listens on PORT; sets PID, PROFILE and DUMPS.
under_callgrind() {
  local name=$1 port=$2
  shift 2
  PROFILE=$INSTR_DIR/callgrind.$name
  start_bg "$name under callgrind" "$INSTR_DIR/$name.log" \
    valgrind --tool=callgrind --callgrind-out-file="$PROFILE" "$@"
  PID=$BG_PID
  DUMPS=0
  wait_tcp "$port" "$PID" 120 || die "$name did not listen under valgrind (log: $INSTR_DIR/$name.log)"
}

# wait_writable PORT: waits until the proxy on PORT runs a transaction on
# its primary. Under valgrind the monitor's first probes can outlast their
# timeout, and until a probe succeeds the proxy knows no writable primary.
wait_writable() {
  local i
  for ((i = 0; i < 120; i++)); do
    if mariadb -h127.0.0.1 -P"$1" -uapp -papp_pw sbtest -e "BEGIN; SELECT 1; COMMIT" >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  die "the proxy on port $1 found no writable primary within 120 s"
}

# count NAME PORT USER PASSWORD MODE: instructions per statement of EVENTS
# statements in MODE through the endpoint running under callgrind as PID.
count() {
  local name=$1 port=$2 user=$3 password=$4 mode=$5 dump total
  sb "$port" "$user" "$password" "$mode" "$WARMUP_EVENTS" run >"$INSTR_DIR/$name.$mode.warmup.log" 2>&1 ||
    die "sysbench ($name $mode warm-up) failed: $INSTR_DIR/$name.$mode.warmup.log"
  callgrind_control -z "$PID" >/dev/null 2>&1
  sb "$port" "$user" "$password" "$mode" "$EVENTS" run >"$INSTR_DIR/$name.$mode.log" 2>&1 ||
    die "sysbench ($name $mode) failed: $INSTR_DIR/$name.$mode.log"
  callgrind_control -d "$PID" >/dev/null 2>&1
  # callgrind numbers each process's dumps from 1.
  DUMPS=$((DUMPS + 1))
  dump=$PROFILE.$DUMPS
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  [[ -n $total ]] || die "no totals in $dump"
  printf '%-9s %-5s %8d instructions per statement  (%s)\n' "$name" "$mode" $((total / EVENTS)) "$dump"
}

log "counting $EVENTS point selects per mode and endpoint (valgrind runs them ~50x slower)"
echo
if wanted proxy; then
  port=$(free_port)
  proxy_config "$INSTR_DIR/proxy.toml" "$port"
  under_callgrind proxy "$port" "$BIN" --config "$INSTR_DIR/proxy.toml"
  count proxy "$port" app app_pw ps
  count proxy "$port" app app_pw text
fi
if wanted replicas; then
  port=$(free_port)
  proxy_config "$INSTR_DIR/replicas.toml" "$port" "${REPLICA_PORTS[@]}"
  under_callgrind replicas "$port" "$BIN" --config "$INSTR_DIR/replicas.toml"
  wait_writable "$port"
  count replicas "$port" app app_pw ps
  count replicas "$port" app app_pw text
fi
if wanted relay; then
  port=$(free_port)
  under_callgrind relay "$port" "$RELAY" --mode tokio-tpc "127.0.0.1:$port" "127.0.0.1:$DS_PORT"
  count relay "$port" root - ps
  count relay "$port" root - text
fi
# count_xa PORT TXMODE: instructions per transfer transaction in TXMODE
# through the sharded proxy running under callgrind as PID.
count_xa() {
  local port=$1 txmode=$2 dump total events=$((EVENTS / 4)) log
  xa_sb() {
    sysbench "$PWD/scripts/bench_xa_transfer.lua" --db-driver=mysql --mysql-host=127.0.0.1 \
      --mysql-port="$port" --mysql-user=app --mysql-password=app_pw --mysql-db=sbtest \
      --table-size=1000 --threads=1 --time=0 --txmode="$txmode" --events="$1" run
  }
  log=$INSTR_DIR/xa.$txmode
  xa_sb "$((WARMUP_EVENTS / 4))" >"$log.warmup.log" 2>&1 || die "sysbench (xa $txmode warm-up) failed: $log.warmup.log"
  callgrind_control -z "$PID" >/dev/null 2>&1
  xa_sb "$events" >"$log.log" 2>&1 || die "sysbench (xa $txmode) failed: $log.log"
  callgrind_control -d "$PID" >/dev/null 2>&1
  DUMPS=$((DUMPS + 1))
  dump=$PROFILE.$DUMPS
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  [[ -n $total ]] || die "no totals in $dump"
  printf '%-9s %-5s %8d instructions per transaction  (%s)\n' xa "$txmode" $((total / events)) "$dump"
}

if wanted sharded || wanted xa; then
  port=$(free_port)
  sharded_config "$INSTR_DIR/sharded.toml" "$port"
  under_callgrind sharded "$port" "$BIN" --config "$INSTR_DIR/sharded.toml"
  # The rows go in through the proxy (ids from sysbench), before counting.
  sb "$port" app app_pw ps 0 --auto-inc=off prepare >"$INSTR_DIR/prepare-sharded.log" 2>&1 ||
    die "sysbench prepare through the sharded proxy failed: $INSTR_DIR/prepare-sharded.log"
  if wanted sharded; then
    count sharded "$port" app app_pw ps
    count sharded "$port" app app_pw text
  fi
  if wanted xa; then
    count_xa "$port" local
    count_xa "$port" xa
  fi
fi
