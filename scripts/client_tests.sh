#!/usr/bin/env bash
# Real clients against the proxy: PyMySQL (tests/clients/test_pymysql.py),
# the ORMs SQLAlchemy, Django and Sequelize and a GUI tool's table-browsing
# walk on a partly sharded schema, each compared with a plain MariaDB
# database holding the same tables (tests/clients/test_*.py, sequelize/),
# sysbench with prepared statements and with text queries, MariaDB's own
# regression tests with mariadb-test (scripts/mysqltest.sh; fails only on the
# tests listed in tests/mysqltest/expected_pass.txt), and the operations
# checks of scripts/ops_clients.sh (TLS, caching_sha2_password, reload) with
# PyMySQL, mysql-connector-python, Node mysql2, Go and JDBC.
#
#   scripts/client_tests.sh
#
# Starts two throwaway MariaDB servers and shardgate (debug build) with a
# generated rule file (schema demo unsharded, schema shop partly sharded over
# both servers; the reference database `shop` sits on the second server), all
# on free ports; stops them at the end. The ORMs' packages come from PyPI and
# npm into tests/clients/.venv and tests/clients/sequelize/node_modules, kept
# for the next run.
# Exits non-zero if any check fails. Env: SYSBENCH_TIME (5), KEEP_LOGS=1
# keeps the work directory (always kept, and printed, on failure),
# SHARDGATE_BIN=path uses that binary instead of building one.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/ops_clients.sh
source "$(dirname "${BASH_SOURCE[0]}")/ops_clients.sh"
cd "$(repo_root)"
cleanup_on_exit

SYSBENCH_TIME=${SYSBENCH_TIME:-5}

ensure_packages
ensure_rust
ensure_ops_clients
PY=$(pymysql_python) || die "no python3 with pymysql"
VENV=$PWD/tests/clients/.venv
ensure_client_venv "$VENV" tests/clients/requirements.txt
ensure_node_modules tests/clients/sequelize

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shardgate-clients.XXXXXX")

if [[ -n ${SHARDGATE_BIN:-} ]]; then
  BIN=$SHARDGATE_BIN
else
  log "building shardgate (debug)"
  cargo build --bin shardgate
  BIN=$PWD/target/debug/shardgate
fi

# Three distinct free ports.
ports=()
while ((${#ports[@]} < 3)); do
  p=$(free_port)
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
DS0_PORT=${ports[0]} DS1_PORT=${ports[1]} PROXY_PORT=${ports[2]}

# The datadirs always go; logs stay on failure.
TRACKED_DIRS+=("$WORK/ds_0/data" "$WORK/ds_1/data")
MARIADB_BUFFER_POOL=64M start_mariadb clients_ds_0 "$DS0_PORT" "$WORK/ds_0"
MARIADB_BUFFER_POOL=64M start_mariadb clients_ds_1 "$DS1_PORT" "$WORK/ds_1"
mariadb_root "$DS0_PORT" -e "CREATE DATABASE demo_0 CHARACTER SET utf8mb4"
mariadb_root "$DS1_PORT" -e "CREATE DATABASE demo_1 CHARACTER SET utf8mb4"
mariadb_root "$DS0_PORT" -e "CREATE DATABASE shop_0 CHARACTER SET utf8mb4"
# shop_1 holds the sharded schema's part; shop, on the same server, is the
# unsharded reference the ORM tests compare with, reached by an account that
# sees only it (as the proxy user sees only its logical schema).
mariadb_root "$DS1_PORT" -e "CREATE DATABASE shop_1 CHARACTER SET utf8mb4; \
  CREATE DATABASE shop CHARACTER SET utf8mb4; \
  CREATE USER ref@'%' IDENTIFIED BY 'ref_pw'; GRANT ALL ON shop.* TO ref@'%'"

CONFIG=$WORK/shardgate.toml
cat >"$CONFIG" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
data_dir = "$WORK/proxy"

[[users]]
name = "app"
password = "app_pw"
schemas = ["demo"]

[[users]]
name = "orm"
password = "orm_pw"
schemas = ["shop"]

[data_sources.ds_0]
primary = "mysql://root:@127.0.0.1:$DS0_PORT/demo_0"

[data_sources.ds_1]
primary = "mysql://root:@127.0.0.1:$DS1_PORT/demo_1"

[data_sources.shop_ds_0]
primary = "mysql://root:@127.0.0.1:$DS0_PORT/shop_0"

[data_sources.shop_ds_1]
primary = "mysql://root:@127.0.0.1:$DS1_PORT/shop_1"

[schemas.demo]
default_data_source = "ds_0"

# The ORM tests' tables: one sharded table each (over both servers, two
# actual tables on each), broadcast tables, the rest unsharded.
[schemas.shop]
default_data_source = "shop_ds_0"
broadcast_tables = ["sa_tag", "shopapp_tag", "sq_tags"]

[schemas.shop.algorithms]
m = { type = "mod" }

[schemas.shop.tables.sa_order]
nodes = "shop_ds_\${0..1}.sa_order_\${0..1}"
database_sharding = { column = "user_id", algorithm = "m" }
table_sharding = { column = "id", algorithm = "m" }
key_generator = { column = "id", type = "snowflake" }

[schemas.shop.tables.shopapp_order]
nodes = "shop_ds_\${0..1}.shopapp_order_\${0..1}"
database_sharding = { column = "customer_id", algorithm = "m" }
table_sharding = { column = "id", algorithm = "m" }
key_generator = { column = "id", type = "snowflake" }

[schemas.shop.tables.sq_orders]
nodes = "shop_ds_\${0..1}.sq_orders_\${0..1}"
database_sharding = { column = "customerId", algorithm = "m" }
table_sharding = { column = "id", algorithm = "m" }
key_generator = { column = "id", type = "snowflake" }
EOF

PROXY_LOG=$WORK/proxy.log
start_bg shardgate "$PROXY_LOG" env NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" "$BIN" --config "$CONFIG"
PROXY_PID=$BG_PID
if ! wait_tcp "$PROXY_PORT" "$PROXY_PID" 30; then
  log "shardgate $(describe_pid "$PROXY_PID"); its log ($PROXY_LOG):"
  tail -n 40 "$PROXY_LOG" >&2 || true
  log "work directory kept: $WORK"
  die "shardgate did not listen on 127.0.0.1:$PROXY_PORT"
fi

FAILED=()
# check NAME CMD..: runs one check; its output goes to WORK/NAME.log and,
# on failure, to the terminal.
check() {
  local name=$1; shift
  log "--- $name"
  if "$@" >"$WORK/$name.log" 2>&1; then
    tail -n 1 "$WORK/$name.log" >&2
    log "PASS $name"
  else
    cat "$WORK/$name.log" >&2
    log "FAIL $name"
    FAILED+=("$name")
  fi
}

pymysql_test() {
  PROXY_PORT=$PROXY_PORT PROXY_USER=app PROXY_PASSWORD=app_pw PROXY_DB=demo \
    DIRECT_PORT=$DS0_PORT DIRECT_DB=demo_0 "$PY" tests/clients/test_pymysql.py
}

# orm_test CMD..: one ORM / GUI client test, proxy user orm on schema shop,
# compared with the reference database shop on the second server.
orm_test() {
  PROXY_PORT=$PROXY_PORT ORM_USER=orm ORM_PASSWORD=orm_pw ORM_DB=shop \
    REF_PORT=$DS1_PORT REF_USER=ref REF_PASSWORD=ref_pw \
    SHARD_PORTS=$DS0_PORT,$DS1_PORT SHARD_DBS=shop_0,shop_1 "$@"
}

SB_TABLES=(--tables=2 --table-size=1000)

sysbench_prepare_direct() {
  sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 \
    --mysql-port="$DS0_PORT" --mysql-user=root --mysql-password= --mysql-db=demo_0 \
    "${SB_TABLES[@]}" prepare
}

# sysbench_through_proxy TEST PS_MODE: a short run through the proxy; fails
# if sysbench fails, reports errors, or ran no queries.
sysbench_through_proxy() {
  local test=$1 ps_mode=$2 out queries errors
  out=$(sysbench "$test" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$PROXY_PORT" \
    --mysql-user=app --mysql-password=app_pw --mysql-db=demo "${SB_TABLES[@]}" \
    --threads=4 --time="$SYSBENCH_TIME" --db-ps-mode="$ps_mode" --report-interval=0 run 2>&1) || {
    echo "$out"; echo "sysbench exited with an error"; return 1
  }
  echo "$out"
  queries=$(awk '/^[[:space:]]*queries:/ { print $2 }' <<<"$out")
  errors=$(awk '/^[[:space:]]*ignored errors:/ { print $3 }' <<<"$out")
  if [[ -z $queries || $queries -eq 0 ]]; then echo "no queries ran"; return 1; fi
  if [[ -n $errors && $errors -ne 0 ]]; then echo "$errors errors"; return 1; fi
  echo "$test, db-ps-mode=$ps_mode: $queries queries, ${errors:-0} errors"
}

check pymysql pymysql_test
# Django first: its test starts from an empty schema (it drops every table).
check django orm_test "$VENV/bin/python" tests/clients/test_django.py
check sqlalchemy orm_test "$VENV/bin/python" tests/clients/test_sqlalchemy.py
check sequelize orm_test node tests/clients/sequelize/test_sequelize.js
check gui_walk orm_test "$VENV/bin/python" tests/clients/test_gui_walk.py
check sysbench_prepare_direct sysbench_prepare_direct
check sysbench_point_select_ps sysbench_through_proxy oltp_point_select auto
check sysbench_point_select_text sysbench_through_proxy oltp_point_select disable
check sysbench_read_only_ps sysbench_through_proxy oltp_read_only auto
check sysbench_read_only_text sysbench_through_proxy oltp_read_only disable
check mysqltest env SHARDGATE_BIN="$BIN" bash scripts/mysqltest.sh

# --- Operations: TLS, caching_sha2_password, require_secure_transport and a
# renewed certificate, with a second proxy on the same backends.
ops_client_checks "$BIN" "$WORK" "$DS0_PORT" "$DS1_PORT"

if ! kill -0 "$PROXY_PID" 2>/dev/null; then
  log "shardgate is no longer running"
  FAILED+=(shardgate_alive)
fi

if ((${#FAILED[@]})); then
  log "last lines of the proxy log ($PROXY_LOG):"
  tail -n 30 "$PROXY_LOG" >&2 || true
  log "work directory kept: $WORK"
  die "client tests failed: ${FAILED[*]}"
fi
if [[ ${KEEP_LOGS:-0} == 1 ]]; then
  log "work directory kept: $WORK"
else
  TRACKED_DIRS+=("$WORK")
fi
log "all client tests passed"
