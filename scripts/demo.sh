#!/usr/bin/env bash
# Runs shardgate in front of local MariaDB servers with demo data: ds_0 is
# a primary with one replica, ds_1 a primary alone.
#
#   scripts/demo.sh            # Ctrl-C stops the proxy and both servers
#   DEMO_RESET=1 scripts/demo.sh   # start from empty datadirs
#   SHARDGATE_BIN=path scripts/demo.sh   # that binary instead of a release build
#
# MariaDB on 127.0.0.1:13306 (database demo_0), its replica on 13308, and
# 127.0.0.1:13307 (demo_1), datadirs under ./.demo/ (kept between runs); the
# proxy on 127.0.0.1:3307 with config/demo.toml. Installs MariaDB with
# apt-get when it is missing.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"
cleanup_on_exit

CONFIG=config/demo.toml
PROXY_PORT=3307

ensure_packages
ensure_rust

if port_open "$PROXY_PORT"; then
  die "port $PROXY_PORT is already in use (another shardgate or MySQL?)"
fi

if [[ -n ${SHARDGATE_BIN:-} ]]; then
  BIN=$SHARDGATE_BIN
else
  log "building shardgate (release)"
  cargo build --release --bin shardgate
  BIN=target/release/shardgate
fi

if [[ ${DEMO_RESET:-0} == 1 ]]; then
  log "DEMO_RESET=1: removing .demo/"
  rm -rf .demo
fi
mkdir -p .demo/proxy
if [[ ! -d .demo/ds_0_replica/data/mysql && -d .demo/ds_0 ]]; then
  # The replica replays ds_0's binary log from the start: ds_0 starts afresh with it.
  log "no replica of ds_0 yet: starting ds_0 from an empty datadir as well"
  rm -rf .demo/ds_0 .demo/ds_0_replica
fi
start_mariadb ds_0 13306 .demo/ds_0 --log-bin=bin --server-id=1 --binlog-format=ROW
start_mariadb ds_0_replica 13308 .demo/ds_0_replica --server-id=3 --read-only=1 --relay-log=relay
start_mariadb ds_1 13307 .demo/ds_1 --server-id=2
start_replica 13306 13308

# The demo data. t_user lives on ds_0 only; t_order is sharded by user_id
# mod 2, so each order row is stored where the proxy will look for it.
for i in 0 1; do
  port=$((13306 + i))
  # A replica must never be written to: demo data goes to the primaries only.
  mariadb_root "$port" <<SQL
CREATE DATABASE IF NOT EXISTS demo_$i CHARACTER SET utf8mb4;
USE demo_$i;
CREATE TABLE IF NOT EXISTS t_order (
  order_id BIGINT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  amount DECIMAL(10, 2) NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at DATETIME NOT NULL,
  KEY idx_user (user_id)
);
SQL
done
mariadb_root 13306 demo_0 <<'SQL'
CREATE TABLE IF NOT EXISTS t_user (
  user_id BIGINT NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  city VARCHAR(64)
);
INSERT IGNORE INTO t_user VALUES
  (1, 'alice', 'Lisbon'), (2, 'bob', 'Oslo'), (3, 'carol', NULL), (4, 'dmitri', 'Kraków');
-- even user_id: ds_0
INSERT IGNORE INTO t_order VALUES
  (1002, 2, 12.50, 'paid', '2024-01-03 10:00:00'),
  (1004, 4, 99.00, 'new', '2024-01-05 16:45:00'),
  (1006, 2, 7.25, 'paid', '2024-01-06 08:30:00');
SQL
mariadb_root 13307 demo_1 <<'SQL'
-- odd user_id: ds_1
INSERT IGNORE INTO t_order VALUES
  (1001, 1, 30.00, 'paid', '2024-01-02 09:15:00'),
  (1003, 3, 5.00, 'cancelled', '2024-01-04 12:00:00'),
  (1005, 1, 45.10, 'new', '2024-01-05 18:20:00');
SQL
start_replica 13306 13308
log "demo data ready: demo_0.t_user, demo_0.t_order (even user_id), demo_1.t_order (odd user_id); ds_0 replicated to 13308"

if ! "$BIN" check --config "$CONFIG"; then
  die "$CONFIG does not validate (see above)"
fi

cat >&2 <<EOF

  shardgate is starting on 127.0.0.1:$PROXY_PORT (Ctrl-C stops it and the MariaDB servers).
  Connect with:

    mariadb -h127.0.0.1 -P$PROXY_PORT -uapp -papp_pw demo

  and try:
    SELECT @@server_id;                            -- 3: autocommit reads go to ds_0's replica
    /* shardgate: primary */ SELECT @@server_id;   -- 1: a hint keeps a read on the primary
    SELECT * FROM t_user;
    SELECT * FROM t_order ORDER BY order_id;       -- rows from both data sources
    SELECT * FROM t_order WHERE user_id = 3;       -- routed to ds_1 only
    SELECT status, COUNT(*), SUM(amount) FROM t_order GROUP BY status;

  As an admin (ops / ops_pw): SHOW BACKENDS;     -- every endpoint, its role, health and lag
  Stop the replica's SQL thread (mariadb -h127.0.0.1 -P13308 -uroot -e 'STOP SLAVE SQL_THREAD')
  and watch SHOW BACKENDS mark it unhealthy and the reads go to the primary; START SLAVE brings it back.

  The backends directly: mariadb -h127.0.0.1 -P13306 -uroot demo_0   (and -P13307 demo_1, -P13308 the replica)

EOF
# Foreground: Ctrl-C reaches the proxy; the EXIT trap then stops MariaDB.
status=0
RUST_LOG=${RUST_LOG:-info} "$BIN" --config "$CONFIG" || status=$?
log "shardgate exited with status $status; stopping MariaDB"
exit "$status"
