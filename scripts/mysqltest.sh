#!/usr/bin/env bash
# Fidelity: MariaDB's own regression tests (main suite of the mariadb-test
# package) run with mariadb-test against the proxy as against a server.
#
#   scripts/mysqltest.sh            run tests/mysqltest/list.txt through the proxy
#   scripts/mysqltest.sh --direct   the same list straight against MariaDB
#   scripts/mysqltest.sh --select   rebuild list.txt: the main-suite tests that
#                                   pass directly as an account limited to one
#                                   database (MYSQLTEST_MAX of them, default 150,
#                                   spread over the alphabet; MYSQLTEST_CANDIDATES=file
#                                   limits the tests tried to those named in it)
#   scripts/mysqltest.sh --record   run through the proxy and write the tests that
#                                   pass to tests/mysqltest/expected_pass.txt
#
# Starts a throwaway MariaDB and shardgate in passthrough (logical schema
# `test` on database `test`; client and backend login `mt`, which may use
# only `test`), all on free ports. Prints pass/fail counts; exits non-zero
# only when a test listed in tests/mysqltest/expected_pass.txt fails (or, with
# --direct, when any listed test fails). Env: SHARDGATE_BIN=path uses that
# binary instead of building one; MYSQLTEST_TIMEOUT per test (60 s);
# KEEP_LOGS=1 keeps the work directory (always kept on failure).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"
cleanup_on_exit

MODE=proxy
case ${1:-} in
  "") ;;
  --direct) MODE=direct ;;
  --select) MODE=select ;;
  --record) MODE=record ;;
  *) die "unknown argument: $1 (see the top of $0)" ;;
esac

LIST=tests/mysqltest/list.txt
EXPECTED=tests/mysqltest/expected_pass.txt
TEST_TIMEOUT=${MYSQLTEST_TIMEOUT:-60}

ensure_packages
have mariadb-test || die "mariadb-test not found (Debian package mariadb-test)"
SUITE=$(find_mysql_test_dir) || die "no mysql-test directory with main/ (package mariadb-test)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shardgate-mysqltest.XXXXXX")
mkdir -p "$WORK/tmp" "$WORK/log" "$WORK/out"

ports=()
while ((${#ports[@]} < 2)); do
  p=$(free_port)
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
DB_PORT=${ports[0]} PROXY_PORT=${ports[1]}

TRACKED_DIRS+=("$WORK/db/data")
MARIADB_BUFFER_POOL=64M start_mariadb mysqltest_db "$DB_PORT" "$WORK/db"
mariadb_root "$DB_PORT" -e "CREATE DATABASE test; \
  CREATE USER 'mt'@'%' IDENTIFIED BY 'mt_pw'; GRANT ALL ON test.* TO 'mt'@'%'"
# Tests must not reach root (`connect con1,localhost,root,,` would work
# directly but not through the proxy): root gets a password only this
# script knows.
ROOT_PW=mysqltest_root_$RANDOM$RANDOM
root_sql() {
  mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$DB_PORT" -uroot --password="$ROOT_PW" \
    --connect-timeout=5 "$@"
}
mapfile -t root_accounts < <(mariadb_root "$DB_PORT" -N -B -e \
  "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.global_priv WHERE User = 'root'")
# (Accounts for host names that do not resolve may refuse; they match no
# TCP login from 127.0.0.1 anyway.)
for account in "${root_accounts[@]}"; do
  mariadb_root "$DB_PORT" -e "ALTER USER $account IDENTIFIED BY '$ROOT_PW'" 2>/dev/null ||
    root_sql -e "ALTER USER $account IDENTIFIED BY '$ROOT_PW'" 2>/dev/null || true
done
root_sql -e "SELECT 1" >/dev/null || die "root cannot log in with its new password"
! mariadb_root "$DB_PORT" -e "SELECT 1" >/dev/null 2>&1 || die "root still logs in without a password"

PORT=$DB_PORT
if [[ $MODE == proxy || $MODE == record ]]; then
  if [[ -n ${SHARDGATE_BIN:-} ]]; then
    BIN=$SHARDGATE_BIN
  else
    ensure_rust
    log "building shardgate (debug)"
    cargo build --bin shardgate
    BIN=$PWD/target/debug/shardgate
  fi
  cat >"$WORK/shardgate.toml" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
data_dir = "$WORK/proxy"

[[users]]
name = "mt"
password = "mt_pw"
schemas = ["test"]

[data_sources.ds_0]
primary = "mysql://mt:mt_pw@127.0.0.1:$DB_PORT/test"

[schemas.test]
default_data_source = "ds_0"
EOF
  start_bg shardgate "$WORK/proxy.log" env NO_COLOR=1 RUST_LOG="${RUST_LOG:-warn}" \
    "$BIN" --config "$WORK/shardgate.toml"
  PROXY_PID=$BG_PID
  if ! wait_tcp "$PROXY_PORT" "$PROXY_PID" 30; then
    tail -n 40 "$WORK/proxy.log" >&2 || true
    die "shardgate did not listen on 127.0.0.1:$PROXY_PORT ($(describe_pid "$PROXY_PID"))"
  fi
  PORT=$PROXY_PORT
fi

# Drops everything a test left in `test` (a failed test may not clean up).
# The database itself stays: the proxy's backend connections have it as
# their default schema.
RESET_SQL="SELECT CONCAT('DROP ', IF(TABLE_TYPE = 'VIEW', 'VIEW', IF(TABLE_TYPE = 'SEQUENCE', 'SEQUENCE', 'TABLE')),
    ' IF EXISTS test.\`', TABLE_NAME, '\`;') FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test'
  UNION ALL SELECT CONCAT('DROP ', ROUTINE_TYPE, ' IF EXISTS test.\`', ROUTINE_NAME, '\`;')
    FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'test'
  UNION ALL SELECT CONCAT('DROP EVENT IF EXISTS test.\`', EVENT_NAME, '\`;')
    FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'test'"
reset_test_db() {
  local drops
  drops=$(root_sql -N -B -e "$RESET_SQL" 2>/dev/null) || return 0
  [[ -z $drops ]] || root_sql -e "SET foreign_key_checks = 0; $drops" >/dev/null 2>&1 || true
}

# run_one NAME: one main-suite test against 127.0.0.1:PORT; its output in
# WORK/out/NAME.out. Cleans the database first.
run_one() {
  local name=$1
  reset_test_db
  rm -rf "${WORK:?}/tmp"/* 2>/dev/null || true
  (cd "$SUITE" && timeout "$TEST_TIMEOUT" mariadb-test --no-defaults --protocol=TCP --host=127.0.0.1 \
    --port="$PORT" --user=mt --password=mt_pw --database=test \
    --basedir="$SUITE/" --tmpdir="$WORK/tmp" --logdir="$WORK/log" \
    --test-file="$SUITE/main/$name.test" --result-file="$SUITE/main/$name.result" --silent \
    >"$WORK/out/$name.out" 2>&1 </dev/null)
}

# The tests to run: every main-suite test for --select, else the list.
if [[ $MODE == select && -n ${MYSQLTEST_CANDIDATES:-} ]]; then
  mapfile -t TESTS < <(grep -v '^#' "$MYSQLTEST_CANDIDATES" | sed '/^$/d' | sort -u)
elif [[ $MODE == select ]]; then
  mapfile -t TESTS < <(cd "$SUITE/main" && ls -- *.test | sed 's/\.test$//' | sort)
else
  [[ -f $LIST ]] || die "$LIST is missing: run $0 --select"
  mapfile -t TESTS < <(grep -v '^#' "$LIST" | sed '/^$/d')
fi

PASSED=() FAILED=()
for name in "${TESTS[@]}"; do
  [[ -f $SUITE/main/$name.test && -f $SUITE/main/$name.result ]] || { FAILED+=("$name"); continue; }
  if run_one "$name"; then PASSED+=("$name"); else FAILED+=("$name"); fi
done
target=$([[ $MODE == direct || $MODE == select ]] && echo "directly" || echo "through the proxy")
log "${#PASSED[@]}/${#TESTS[@]} pass $target, ${#FAILED[@]} fail"
printf '%s\n' ${FAILED[@]+"${FAILED[@]}"} >"$WORK/failed.txt"

status=0
case $MODE in
  select)
    max=${MYSQLTEST_MAX:-150} n=${#PASSED[@]}
    {
      echo "# main-suite tests of mariadb-test that pass directly as an account limited"
      echo "# to one database (scripts/mysqltest.sh --select; MariaDB $(root_sql -N -B -e 'SELECT VERSION()'))"
      if ((n <= max)); then
        printf '%s\n' ${PASSED[@]+"${PASSED[@]}"}
      else
        for ((i = 0; i < max; i++)); do echo "${PASSED[i * n / max]}"; done
      fi
    } >"$LIST"
    log "wrote $(grep -vc '^#' "$LIST") tests to $LIST"
    ;;
  record)
    {
      echo "# tests of list.txt that pass through the proxy (scripts/mysqltest.sh --record)"
      printf '%s\n' ${PASSED[@]+"${PASSED[@]}"}
    } >"$EXPECTED"
    log "wrote ${#PASSED[@]} tests to $EXPECTED"
    ;;
  direct)
    ((${#FAILED[@]} == 0)) || status=1
    ;;
  proxy)
    regressions=()
    if [[ -f $EXPECTED ]]; then
      for name in ${FAILED[@]+"${FAILED[@]}"}; do
        grep -qx -- "$name" "$EXPECTED" && regressions+=("$name")
      done
    fi
    newly=()
    for name in ${PASSED[@]+"${PASSED[@]}"}; do
      [[ -f $EXPECTED ]] && grep -qx -- "$name" "$EXPECTED" || newly+=("$name")
    done
    ((${#newly[@]} == 0)) || log "pass now, not in $EXPECTED: ${newly[*]}"
    if ((${#regressions[@]})); then
      for name in "${regressions[@]}"; do
        log "--- $name (expected to pass):"
        tail -n 15 "$WORK/out/$name.out" >&2 || true
      done
      log "FAIL: expected to pass but failed: ${regressions[*]}"
      status=1
    fi
    ;;
esac

if ((status != 0)) || [[ ${KEEP_LOGS:-0} == 1 ]]; then
  log "work directory kept: $WORK (outputs in out/, failed tests in failed.txt)"
else
  TRACKED_DIRS+=("$WORK")
fi
exit "$status"
