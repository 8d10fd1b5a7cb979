# Operations checks with real clients (sourced by scripts/client_tests.sh,
# after its backends and check() exist): TLS to clients, caching_sha2_password
# and mysql_native_password logins, COM_CHANGE_USER and MySQL 8's default
# collation (mysql-connector-python), require_secure_transport (3159) and a
# renewed certificate picked up by RELOAD CONFIG. Clients: PyMySQL and
# mysql-connector-python (tests/clients/ops/test_auth_tls.py, in a venv from
# PyPI), Node mysql2 (tests/clients/ops/node, npm ci), Go's
# go-sql-driver/mysql (tests/clients/ops/go, Debian packages) and JDBC with
# MariaDB Connector/J (tests/clients/ops/java, Debian's libmariadb-java).
#
#   ensure_ops_clients           installs what the clients need
#   ops_client_checks BIN WORK DS0_PORT DS1_PORT
#                                starts a second proxy on the same backends, with
#                                TLS, runs every client, reloads with
#                                require_secure_transport and a renewed
#                                certificate, runs every client again
#
# The venv and the Go and Java builds live under OPS_CLIENTS_CACHE
# (~/.cache/shardgate-clients), kept between runs.

OPS_DIR=tests/clients/ops
OPS_CLIENTS_CACHE=${OPS_CLIENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shardgate-clients}

ensure_ops_clients() {
  local missing=() venv=$OPS_CLIENTS_CACHE/venv stamp
  have openssl || missing+=(openssl)
  have node || missing+=(nodejs)
  have npm || missing+=(npm)
  have go || missing+=(golang-go)
  [[ -d /usr/share/gocode/src/github.com/go-sql-driver/mysql ]] ||
    missing+=(golang-github-go-sql-driver-mysql-dev)
  [[ -f /usr/share/java/mariadb-java-client.jar ]] || missing+=(libmariadb-java)
  { have java && have javac; } || missing+=(default-jdk-headless)
  /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  if ((${#missing[@]})); then
    log "installing for the ops clients: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  mkdir -p "$OPS_CLIENTS_CACHE"
  stamp=$(sha256sum "$OPS_DIR/requirements.txt" | cut -c1-16)
  if [[ ! -f $venv/.stamp-$stamp ]]; then
    log "PyPI clients into $venv"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$OPS_DIR/requirements.txt"
    touch "$venv/.stamp-$stamp"
  fi
  stamp=$(sha256sum "$OPS_DIR/node/package-lock.json" | cut -c1-16)
  if [[ ! -f $OPS_DIR/node/node_modules/.stamp-$stamp ]]; then
    log "npm clients into $OPS_DIR/node/node_modules"
    (cd "$OPS_DIR/node" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$OPS_DIR/node/node_modules/.stamp-$stamp"
  fi
  # Debian's Go packages are GOPATH sources: build without modules, offline.
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$OPS_CLIENTS_CACHE/go-build \
    go build -o "$OPS_CLIENTS_CACHE/ops_go" "$OPS_DIR/go/auth_tls.go"
  mkdir -p "$OPS_CLIENTS_CACHE/java"
  javac -d "$OPS_CLIENTS_CACHE/java" -cp /usr/share/java/mariadb-java-client.jar \
    "$OPS_DIR/java/AuthTls.java"
}

# ops_cert DIR NAME: a self-signed certificate for 127.0.0.1 as DIR/NAME.pem
# and its key DIR/NAME-key.pem.
ops_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shardgate-$2" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$1/$2-key.pem" -out "$1/$2.pem" 2>/dev/null
}

# Hex of SHA256(SHA256(pw)) or SHA1(SHA1(pw)), as password_sha2 / password_sha1 hold it.
ops_double_hash() {
  python3 -c 'import hashlib, sys
h = getattr(hashlib, sys.argv[1])
print(h(h(sys.argv[2].encode()).digest()).hexdigest())' "$1" "$2"
}

# ops_config FILE PORT DIR DS0 DS1 REQUIRE: the ops proxy's rule file.
ops_config() {
  cat >"$1" <<EOF
[server]
listen = "127.0.0.1:$2"
data_dir = "$3/proxy"
tls_cert = "$3/server.pem"
tls_key = "$3/server-key.pem"
require_secure_transport = $6

[[users]]
name = "app"
password = "app_pw"
schemas = ["demo"]

[[users]]
name = "s2"
password_sha2 = "$(ops_double_hash sha256 s2_pw)"
schemas = ["demo"]

[[users]]
name = "s1"
password_sha1 = "$(ops_double_hash sha1 s1_pw)"
schemas = ["demo"]

[[users]]
name = "ops"
password = "ops_pw"
schemas = ["demo"]
admin = true

[data_sources.ds_0]
primary = "mysql://root:@127.0.0.1:$4/demo_0"

[data_sources.ds_1]
primary = "mysql://root:@127.0.0.1:$5/demo_1"

[schemas.demo]
default_data_source = "ds_0"
EOF
}

# ops_clients_run PHASE: every client against the ops proxy (OPS_* set).
ops_clients_run() {
  local phase=$1
  export OPS_PHASE=$phase
  # A hung login must fail the check, not the whole run.
  check "ops_python_$phase" timeout 120 "$OPS_CLIENTS_CACHE/venv/bin/python" "$OPS_DIR/test_auth_tls.py"
  check "ops_node_$phase" timeout 120 node "$OPS_DIR/node/auth_tls.js"
  check "ops_go_$phase" timeout 120 "$OPS_CLIENTS_CACHE/ops_go"
  check "ops_jdbc_$phase" timeout 120 java -cp "$OPS_CLIENTS_CACHE/java:/usr/share/java/mariadb-java-client.jar" AuthTls
}

ops_client_checks() {
  local bin=$1 dir=$2/ops ds0=$3 ds1=$4 port pid config
  mkdir -p "$dir"
  port=$(free_port)
  config=$dir/shardgate.toml
  ops_cert "$dir" first
  cp "$dir/first.pem" "$dir/server.pem"
  cp "$dir/first-key.pem" "$dir/server-key.pem"
  ops_config "$config" "$port" "$dir" "$ds0" "$ds1" false
  start_bg "shardgate (ops)" "$dir/proxy.log" env NO_COLOR=1 RUST_LOG=info "$bin" --config "$config"
  pid=$BG_PID
  if ! wait_tcp "$port" "$pid" 30; then
    tail -n 40 "$dir/proxy.log" >&2 || true
    FAILED+=(ops_proxy_start)
    return 0
  fi
  export OPS_PORT=$port OPS_CA=$dir/server.pem OPS_OLD_CA=$dir/first.pem
  ops_clients_run open

  # Renewed certificate files in place, and TLS now required: RELOAD CONFIG
  # (over TLS, as an admin) must pick up both.
  ops_cert "$dir" renewed
  cp "$dir/renewed.pem" "$dir/server.pem"
  cp "$dir/renewed-key.pem" "$dir/server-key.pem"
  ops_config "$config" "$port" "$dir" "$ds0" "$ds1" true
  check ops_reload mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uops \
    --password=ops_pw --ssl --ssl-ca="$dir/first.pem" -e "RELOAD CONFIG"
  ops_clients_run required
  if ! kill -0 "$pid" 2>/dev/null; then
    FAILED+=(ops_proxy_alive)
  fi
}
