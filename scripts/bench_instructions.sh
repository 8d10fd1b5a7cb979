#!/usr/bin/env bash
# Instructions the proxy executes per statement, counted by valgrind's
# callgrind: sysbench point selects (one thread) through a release
# shardgate in unsharded passthrough, prepared and then text. Unlike
# queries per second, the count repeats to within a few instructions from
# run to run, whatever else the machine is doing, so it shows what a change
# to the hot path costs or saves.
#
#   scripts/bench_instructions.sh
#   EVENTS=50000 scripts/bench_instructions.sh
#
# Settings (environment):
#   EVENTS=20000   statements counted per mode (after 2,000 not counted)
#   INSTR_DIR=target/bench-instructions   logs, profiles and the datadir
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
INSTR_DIR=${INSTR_DIR:-target/bench-instructions}

ensure_packages
ensure_rust
if ! have valgrind; then
  log "installing: valgrind"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind
fi

mkdir -p "$INSTR_DIR"
INSTR_DIR=$(cd "$INSTR_DIR" && pwd)
rm -rf "$INSTR_DIR/ds_0" "$INSTR_DIR"/callgrind.out*
TRACKED_DIRS+=("$INSTR_DIR/ds_0")

if [[ -n ${SHARDGATE_BIN:-} ]]; then
  BIN=$SHARDGATE_BIN
else
  log "building shardgate (release)"
  cargo build --release --bin shardgate
  BIN=$PWD/target/release/shardgate
fi

DS_PORT=$(free_port)
start_mariadb instr_ds_0 "$DS_PORT" "$INSTR_DIR/ds_0"
mariadb_root "$DS_PORT" -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"

PROXY_PORT=$(free_port)
CONFIG=$INSTR_DIR/shardgate.toml
cat >"$CONFIG" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
data_dir = "$INSTR_DIR/proxy"

[[users]]
name = "app"
password = "app_pw"
schemas = ["sbtest"]

[data_sources.ds_0]
primary = "mysql://root:@127.0.0.1:$DS_PORT/sbtest"

[schemas.sbtest]
default_data_source = "ds_0"
EOF

# sb MODE EVENTS ACTION: sysbench point selects through the proxy.
sb() {
  local ps=auto
  if [[ $1 == text ]]; then ps=disable; fi
  sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 \
    --mysql-port="$PROXY_PORT" --mysql-user=app --mysql-password=app_pw --mysql-db=sbtest \
    --tables=1 --table-size=1000 --threads=1 --db-ps-mode="$ps" --time=0 --events="$2" "$3"
}

PROFILE=$INSTR_DIR/callgrind.out
start_bg "shardgate under callgrind" "$INSTR_DIR/proxy.log" \
  valgrind --tool=callgrind --callgrind-out-file="$PROFILE" "$BIN" --config "$CONFIG"
VALGRIND_PID=$BG_PID
wait_tcp "$PROXY_PORT" "$VALGRIND_PID" 120 ||
  die "the proxy did not listen under valgrind (log: $INSTR_DIR/proxy.log)"
sb ps 0 prepare >"$INSTR_DIR/prepare.log" 2>&1 ||
  { cat "$INSTR_DIR/prepare.log" >&2; die "sysbench prepare failed"; }

# count MODE: instructions per statement of EVENTS statements in MODE.
DUMPS=0
count() {
  local mode=$1 dump total
  sb "$mode" "$WARMUP_EVENTS" run >"$INSTR_DIR/$mode.warmup.log" 2>&1 ||
    die "sysbench ($mode warm-up) failed: $INSTR_DIR/$mode.warmup.log"
  callgrind_control -z "$VALGRIND_PID" >/dev/null 2>&1
  sb "$mode" "$EVENTS" run >"$INSTR_DIR/$mode.log" 2>&1 ||
    die "sysbench ($mode) failed: $INSTR_DIR/$mode.log"
  callgrind_control -d "$VALGRIND_PID" >/dev/null 2>&1
  # callgrind numbers its dumps from 1.
  DUMPS=$((DUMPS + 1))
  dump=$PROFILE.$DUMPS
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  [[ -n $total ]] || die "no totals in $dump"
  printf '%-10s %8d instructions per statement  (%s)\n' "$mode" $((total / EVENTS)) "$dump"
}

log "counting $EVENTS point selects per mode (valgrind runs the proxy ~50x slower)"
echo
count ps
count text
