#!/usr/bin/env python3
"""Logins through shardgate with PyMySQL and mysql-connector-python: TLS
(the certificate verified against the CA file), caching_sha2_password (fast
path; full authentication with the clear password over TLS),
mysql_native_password, wrong passwords, the connector's cmd_change_user
(fast path, full authentication, a wrong password, the session reset) and
its default collation utf8mb4_0900_ai_ci (which the MariaDB backends get as
utf8mb4_uca1400_nopad_ai_ci), and, after the proxy reloaded with
require_secure_transport and a renewed certificate, 3159 for plain logins
and the new certificate served.

Run by scripts/client_tests.sh (the ops section, scripts/ops_clients.sh)
against a proxy with the users described there. Environment:
    OPS_PORT         the proxy (127.0.0.1)
    OPS_PHASE        "open": TLS offered, not required;
                     "required": require_secure_transport, renewed certificate
    OPS_CA           the certificate the proxy serves now (self-signed)
    OPS_OLD_CA       (required phase) the one it served before the renewal
Users: s2/s2_pw (password_sha2 only), s1/s1_pw (password_sha1 only),
app/app_pw (password); schema demo.

The handshake names mysql_native_password, so clients that follow it are
switched to caching_sha2_password only for s2, and pass its fast path; the
full path is reached by a client that starts with caching_sha2_password
(here the connector's auth_plugin) as a user without a SHA256 hash (s1).

Prints one line per check and finally "N passed, M failed"; exits 1 if any
check failed.
"""

import os
import ssl
import sys
import traceback

import mysql.connector
import pymysql

HOST = "127.0.0.1"
PORT = int(os.environ["OPS_PORT"])
PHASE = os.environ.get("OPS_PHASE", "open")
CA = os.environ["OPS_CA"]
OLD_CA = os.environ.get("OPS_OLD_CA")
DB = "demo"

RESULTS = []


def check(name):
    def run(fn):
        try:
            fn()
            RESULTS.append(True)
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001 - every failure is reported
            RESULTS.append(False)
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        return fn
    return run


def expect_error(code, fn):
    """fn() must fail with MySQL error `code`."""
    try:
        fn()
    except (pymysql.err.MySQLError, mysql.connector.Error) as e:
        got = e.args[0] if isinstance(e, pymysql.err.MySQLError) else e.errno
        assert got == code, f"expected {code}, got {got}: {e}"
        return
    raise AssertionError(f"expected error {code}, the login worked")


# --- PyMySQL ---------------------------------------------------------------

def pymysql_conn(user, password, tls_ca=None):
    kwargs = {}
    if tls_ca:
        # Verified against the self-signed certificate, host name included
        # (the certificate names 127.0.0.1).
        kwargs = dict(ssl_ca=tls_ca, ssl_verify_cert=True, ssl_verify_identity=True)
    return pymysql.connect(host=HOST, port=PORT, user=user, password=password,
                           database=DB, connect_timeout=10, read_timeout=30, **kwargs)


def pymysql_select_one(conn, encrypted):
    with conn:
        assert isinstance(conn._sock, ssl.SSLSocket) == encrypted, "encryption"
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)


# --- mysql-connector-python (C extension when it has one, and pure) --------

SHA2 = dict(auth_plugin="caching_sha2_password")


def connector_conn(user, password, tls_ca=None, pure=False, **kwargs):
    # The connector's defaults: for an 8.0 server it asks for
    # utf8mb4_0900_ai_ci (id 255 in the handshake, then SET NAMES ... COLLATE),
    # which the MariaDB backends know only as utf8mb4_uca1400_nopad_ai_ci.
    if tls_ca:
        kwargs.update(ssl_ca=tls_ca, ssl_verify_cert=True, ssl_verify_identity=True)
    else:
        kwargs.update(ssl_disabled=True)
    return mysql.connector.connect(host=HOST, port=PORT, user=user, password=password,
                                   database=DB, use_pure=pure, connection_timeout=10,
                                   **kwargs)


def connector_select_one(conn):
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        cur.close()
    finally:
        conn.close()


def connector_state(conn):
    """(CURRENT_USER(), @left_behind) of a connector connection."""
    cur = conn.cursor()
    cur.execute("SELECT CURRENT_USER(), @left_behind")
    row = cur.fetchone()
    cur.close()
    return row


def connector_change_user(pure, tls_ca):
    """cmd_change_user from app (mysql_native_password) to s2 (caching_sha2
    fast path), to s1 (full authentication over TLS), and a wrong password."""
    conn = connector_conn("app", "app_pw", tls_ca, pure)
    try:
        cur = conn.cursor()
        cur.execute("SET @left_behind = 7")
        cur.close()
        assert connector_state(conn) == ("app@%", 7), connector_state(conn)
        conn.cmd_change_user(username="s2", password="s2_pw", database=DB)
        # A fresh session: the user variable is gone.
        assert connector_state(conn) == ("s2@%", None), connector_state(conn)
        if tls_ca:
            conn.cmd_change_user(username="s1", password="s1_pw", database=DB)
            assert connector_state(conn) == ("s1@%", None), connector_state(conn)
        # Over plain TCP the C extension's libmysqlclient, asked for the full
        # path after the failed fast path, will not send the password
        # without the server's RSA key: its own 2061, as at a login.
        wrong = 2061 if tls_ca is None and not pure else 1045
        expect_error(wrong, lambda: conn.cmd_change_user(
            username="s2", password="nope", database=DB))
    finally:
        try:
            conn.close()
        except mysql.connector.Error:
            pass  # the failed change_user closed it


def open_phase():
    @check("pymysql: TLS, caching_sha2_password (switched to it; password_sha2 only)")
    def _():
        pymysql_select_one(pymysql_conn("s2", "s2_pw", CA), encrypted=True)

    @check("pymysql: TLS, mysql_native_password (password_sha1 only)")
    def _():
        pymysql_select_one(pymysql_conn("s1", "s1_pw", CA), encrypted=True)

    @check("pymysql: plain TCP, caching_sha2_password fast path")
    def _():
        pymysql_select_one(pymysql_conn("s2", "s2_pw"), encrypted=False)

    @check("pymysql: plain TCP, mysql_native_password")
    def _():
        pymysql_select_one(pymysql_conn("app", "app_pw"), encrypted=False)

    @check("pymysql: wrong password over TLS and plain TCP: 1045")
    def _():
        expect_error(1045, lambda: pymysql_conn("s2", "nope", CA))
        expect_error(1045, lambda: pymysql_conn("s2", "nope"))
        expect_error(1045, lambda: pymysql_conn("s1", "nope"))

    for pure in (False, True):
        kind = "pure" if pure else "C extension"

        @check(f"connector ({kind}): TLS, caching_sha2_password full authentication "
               "(password_sha1 only)")
        def _():
            connector_select_one(connector_conn("s1", "s1_pw", CA, pure, **SHA2))

        @check(f"connector ({kind}): TLS, caching_sha2_password fast path (password_sha2 only)")
        def _():
            connector_select_one(connector_conn("s2", "s2_pw", CA, pure))

        @check(f"connector ({kind}): plain TCP, caching_sha2_password fast path")
        def _():
            connector_select_one(connector_conn("s2", "s2_pw", None, pure))
            # The C extension with auth_plugin set and TLS off fails in the
            # client before it connects; the pure one starts with caching_sha2.
            sha2 = SHA2 if pure else {}
            connector_select_one(connector_conn("app", "app_pw", None, pure, **sha2))

        @check(f"connector ({kind}): default collation utf8mb4_0900_ai_ci, reported as asked")
        def _():
            conn = connector_conn("app", "app_pw", None, pure)
            try:
                assert conn.collation == "utf8mb4_0900_ai_ci", conn.collation
                cur = conn.cursor()
                cur.execute("SELECT @@collation_connection, 'a' = 'A', 'é' = 'e', "
                            "'a' = 'a ', 'ünïcödé'")
                row = cur.fetchone()
                # MySQL 8's utf8mb4_0900_ai_ci: case and accent insensitive, NO PAD.
                assert row == ("utf8mb4_0900_ai_ci", 1, 1, 0, "ünïcödé"), row
                cur.close()
            finally:
                conn.close()

        @check(f"connector ({kind}): cmd_change_user over TLS (fast path, full, wrong: 1045)")
        def _():
            connector_change_user(pure, CA)

        @check(f"connector ({kind}): cmd_change_user over plain TCP (fast path, wrong: 1045 / 2061)")
        def _():
            connector_change_user(pure, None)

        if pure:
            # The C extension's libmysqlclient 9 has no mysql_native_password.
            @check(f"connector ({kind}): mysql_native_password")
            def _():
                connector_select_one(connector_conn(
                    "app", "app_pw", None, pure, auth_plugin="mysql_native_password"))

        @check(f"connector ({kind}): wrong password (fast path, full over TLS): 1045")
        def _():
            expect_error(1045, lambda: connector_conn("s1", "nope", CA, pure, **SHA2))
            if pure:
                expect_error(1045, lambda: connector_conn("s2", "nope", None, pure))

        if pure:
            @check(f"connector ({kind}): full authentication over plain TCP without RSA: 1045")
            def _():
                # The pure connector sends the clear password when asked for
                # the full path on plain TCP; the proxy refuses it, as MySQL does.
                expect_error(1045, lambda: connector_conn("s1", "s1_pw", None, pure, **SHA2))
        else:
            @check(f"connector ({kind}): full authentication over plain TCP: the client's 2061")
            def _():
                # Asked for the full path on plain TCP (a wrong password
                # fails the fast path), libmysqlclient will not send the
                # password without the server's RSA key, which the connector
                # has no option to fetch.
                expect_error(2061, lambda: connector_conn("s2", "nope", None, pure))


def required_phase():
    @check("pymysql: plain TCP refused with 3159 (require_secure_transport)")
    def _():
        expect_error(3159, lambda: pymysql_conn("app", "app_pw"))

    @check("pymysql: TLS verified against the renewed certificate")
    def _():
        pymysql_select_one(pymysql_conn("s2", "s2_pw", CA), encrypted=True)

    @check("pymysql: the certificate from before the renewal no longer verifies")
    def _():
        try:
            pymysql_conn("s2", "s2_pw", OLD_CA).close()
        except pymysql.err.OperationalError as e:
            assert "CERTIFICATE_VERIFY_FAILED" in str(e), e
            return
        raise AssertionError("the old certificate still verified")

    for pure in (False, True):
        kind = "pure" if pure else "C extension"

        @check(f"connector ({kind}): plain TCP refused with 3159")
        def _():
            expect_error(3159, lambda: connector_conn("app", "app_pw", None, pure))

        @check(f"connector ({kind}): TLS against the renewed certificate, full authentication")
        def _():
            connector_select_one(connector_conn("s1", "s1_pw", CA, pure, **SHA2))

        @check(f"connector ({kind}): the old certificate no longer verifies")
        def _():
            try:
                connector_conn("s2", "s2_pw", OLD_CA, pure).close()
            except mysql.connector.Error as e:
                assert "certificate verify failed" in str(e).lower(), e
                return
            raise AssertionError("the old certificate still verified")


def main():
    open_phase() if PHASE == "open" else required_phase()
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not RESULTS else 0


if __name__ == "__main__":
    sys.exit(main())
