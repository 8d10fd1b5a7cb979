#!/usr/bin/env python3
"""PyMySQL through shardgate: column types, row counts, errors and recovery,
as an application sees them.

Plain Python (no pytest). Run by scripts/client_tests.sh, or by hand against
a running proxy:

    PROXY_PORT=3307 python3 tests/clients/test_pymysql.py

Environment:
    PROXY_HOST (127.0.0.1), PROXY_PORT (3307), PROXY_USER (app),
    PROXY_PASSWORD (app_pw), PROXY_DB (demo): the proxy and logical schema.
    DIRECT_PORT, DIRECT_DB (optional): the MariaDB server and database that
    hold the schema's unsharded tables (root, no password), to check that the
    rows written through the proxy really landed there.

Prints one line per check and finally "N passed, M failed"; exits 1 if any
check failed.
"""

import datetime
import os
import sys
import traceback
from decimal import Decimal

import pymysql

HOST = os.environ.get("PROXY_HOST", "127.0.0.1")
PORT = int(os.environ.get("PROXY_PORT", "3307"))
USER = os.environ.get("PROXY_USER", "app")
PASSWORD = os.environ.get("PROXY_PASSWORD", "app_pw")
DB = os.environ.get("PROXY_DB", "demo")
DIRECT_PORT = os.environ.get("DIRECT_PORT")
DIRECT_DB = os.environ.get("DIRECT_DB")

TABLE = "t_pymysql_client"
COLUMNS = ["name", "note", "bin", "data", "price", "created", "created6",
           "day", "dur", "ratio", "big"]
ROWS = [
    ("plain", "some text", b"\x00\x01\xff\xfe", bytes(range(256)) * 4,
     Decimal("12.34"), datetime.datetime(2024, 1, 2, 3, 4, 5),
     datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), datetime.date(2024, 2, 29),
     datetime.timedelta(hours=30, minutes=5), 1.5, 2**64 - 1),
    ("ü 张三 😀", "two\nlines, 'quotes', \"double\", back\\slash", b"\xff" * 16, b"",
     Decimal("-0.01"), datetime.datetime(1999, 12, 31, 23, 59, 59),
     datetime.datetime(2000, 1, 1, 0, 0, 0, 1), datetime.date(1970, 1, 1),
     datetime.timedelta(0), -0.25, 0),
    (None,) * 11,
]
# What each column must come back as (for rows without NULL).
TYPES = [str, str, bytes, bytes, Decimal, datetime.datetime, datetime.datetime,
         datetime.date, datetime.timedelta, float, int]


def connect(**kwargs):
    return pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD,
                           database=DB, charset="utf8mb4", autocommit=True,
                           connect_timeout=10, read_timeout=60, write_timeout=60,
                           **kwargs)


def expect_error(conn, sql, code, exc_type):
    """Runs sql, which must fail with MySQL error `code` as `exc_type`."""
    with conn.cursor() as cur:
        try:
            cur.execute(sql)
        except exc_type as e:
            assert e.args[0] == code, f"expected error {code}, got {e.args!r}"
            return e
        except pymysql.MySQLError as e:
            raise AssertionError(f"expected {exc_type.__name__} {code}, got "
                                 f"{type(e).__name__} {e.args!r}") from e
        raise AssertionError(f"{sql!r} succeeded; expected error {code}")


def assert_still_works(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 41 + 1")
        assert cur.fetchone() == (42,), "connection unusable after an error"


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def select_literals(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 1, 'a', NULL, 1.5, _utf8mb4'ü😀'")
        assert cur.fetchone() == (1, "a", None, Decimal("1.5"), "ü😀")
        cur.execute("SELECT 'x' AS `ünï`, 2 AS two")
        names = [d[0] for d in cur.description]
        assert names == ["ünï", "two"], names


@check
def create_table(conn):
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(f"""CREATE TABLE {TABLE} (
            id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name VARCHAR(64) NULL,
            note TEXT NULL,
            bin VARBINARY(16) NULL,
            data BLOB NULL,
            price DECIMAL(10, 2) NULL,
            created DATETIME NULL,
            created6 DATETIME(6) NULL,
            day DATE NULL,
            dur TIME NULL,
            ratio DOUBLE NULL,
            big BIGINT UNSIGNED NULL,
            large LONGBLOB NULL
        ) DEFAULT CHARSET = utf8mb4""")


INSERT = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
          f"VALUES ({', '.join(['%s'] * len(COLUMNS))})")


@check
def insert_rowcount_and_lastrowid(conn):
    with conn.cursor() as cur:
        n = cur.execute(INSERT, ROWS[0])
        assert n == 1 and cur.rowcount == 1, (n, cur.rowcount)
        assert cur.lastrowid == 1, cur.lastrowid
        # executemany batches into one multi-row INSERT: the first new id.
        n = cur.executemany(INSERT, ROWS[1:])
        assert n == 2 and cur.rowcount == 2, (n, cur.rowcount)
        assert cur.lastrowid == 2, cur.lastrowid
        assert conn.insert_id() == 2, conn.insert_id()


@check
def read_back_values_and_types(conn):
    with conn.cursor() as cur:
        n = cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY id")
        rows = cur.fetchall()
        assert n == 3 and cur.rowcount == 3, (n, cur.rowcount)
        for got, want in zip(rows, ROWS):
            for col, g, w, t in zip(COLUMNS, got, want, TYPES):
                if w is None:
                    assert g is None, f"{col}: expected NULL, got {g!r}"
                else:
                    assert type(g) is t, f"{col}: expected {t.__name__}, got {type(g).__name__} {g!r}"
                    assert g == w, f"{col}: expected {w!r}, got {g!r}"
        names = [d[0] for d in cur.description]
        assert names == COLUMNS, names


@check
def dict_cursor_and_params(conn):
    tricky = "O'Reilly \\ \"x\" \n ; -- not a comment"
    # binary_prefix: bytes parameters are sent as _binary'...' literals.
    other = connect(binary_prefix=True, cursorclass=pymysql.cursors.DictCursor)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT %s AS s, %s AS b, %s AS n", (tricky, b"\x00\xff'", None))
            row = cur.fetchone()
            assert row == {"s": tricky, "b": b"\x00\xff'", "n": None}, row
    finally:
        other.close()
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(f"SELECT id, name FROM {TABLE} WHERE name = %s", ("ü 张三 😀",))
        assert cur.fetchall() == [{"id": 2, "name": "ü 张三 😀"}]


@check
def update_delete_rowcount(conn):
    with conn.cursor() as cur:
        n = cur.execute(f"UPDATE {TABLE} SET price = price + 1 WHERE id IN (1, 2)")
        assert n == 2, n
        n = cur.execute(f"UPDATE {TABLE} SET name = 'none' WHERE id = 12345")
        assert n == 0, n
        n = cur.execute(f"DELETE FROM {TABLE} WHERE id = 3")
        assert n == 1, n
        cur.execute(f"SELECT price FROM {TABLE} ORDER BY id")
        assert cur.fetchall() == ((Decimal("13.34"),), (Decimal("0.99"),))


@check
def empty_result(conn):
    with conn.cursor() as cur:
        n = cur.execute(f"SELECT id, name FROM {TABLE} WHERE 1 = 0")
        assert n == 0 and cur.fetchall() == (), n
        assert [d[0] for d in cur.description] == ["id", "name"]


@check
def large_blob(conn):
    blob = bytes(range(256)) * 8192  # 2 MiB, many packets' worth of TCP reads
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (id, large) VALUES (100, %s)", (blob,))
        cur.execute(f"SELECT large, LENGTH(large) FROM {TABLE} WHERE id = 100")
        got, length = cur.fetchone()
        assert length == len(blob), length
        assert got == blob, "2 MiB blob came back different"


@check
def unknown_table_keeps_code(conn):
    e = expect_error(conn, "SELECT * FROM no_such_table_xyz", 1146,
                     pymysql.err.ProgrammingError)
    assert "no_such_table_xyz" in e.args[1], e.args
    assert_still_works(conn)


@check
def garbage_statement_then_recovery(conn):
    expect_error(conn, "SELEKT * FROMM nowhere", 1064, pymysql.err.ProgrammingError)
    assert_still_works(conn)
    expect_error(conn, "\x01\x02 garbage ;;; '", 1064, pymysql.err.ProgrammingError)
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {TABLE}")
        assert cur.fetchone() == (3,)


@check
def duplicate_key(conn):
    expect_error(conn, f"INSERT INTO {TABLE} (id, name) VALUES (1, 'again')", 1062,
                 pymysql.err.IntegrityError)
    assert_still_works(conn)


@check
def transaction_rollback_and_commit(conn):
    conn.begin()
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (id, name) VALUES (200, 'rolled back')")
    conn.rollback()
    conn.begin()
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (id, name) VALUES (201, 'committed')")
    conn.commit()
    with conn.cursor() as cur:
        cur.execute(f"SELECT id FROM {TABLE} WHERE id >= 200 ORDER BY id")
        assert cur.fetchall() == ((201,),)


@check
def second_connection_sees_rows(conn):
    other = connect()
    try:
        with other.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {TABLE}")
            assert cur.fetchone() == (4,)
    finally:
        other.close()


@check
def rows_landed_on_the_backend(conn):
    if not DIRECT_PORT or not DIRECT_DB:
        print("     (skipped: DIRECT_PORT/DIRECT_DB not set)")
        return
    direct = pymysql.connect(host="127.0.0.1", port=int(DIRECT_PORT), user="root",
                             password="", database=DIRECT_DB, charset="utf8mb4")
    try:
        with direct.cursor() as cur:
            cur.execute(f"SELECT id, name, bin FROM {TABLE} WHERE id <= 2 ORDER BY id")
            assert cur.fetchall() == ((1, "plain", ROWS[0][2]), (2, "ü 张三 😀", ROWS[1][2]))
    finally:
        direct.close()


@check
def wrong_password_is_refused(conn):
    try:
        pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD + "x",
                        database=DB, connect_timeout=10)
    except pymysql.err.OperationalError as e:
        assert e.args[0] == 1045, e.args
        return
    raise AssertionError("login with a wrong password succeeded")


@check
def drop_table(conn):
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE {TABLE}")
    expect_error(conn, f"SELECT * FROM {TABLE}", 1146, pymysql.err.ProgrammingError)


def usable(conn):
    try:
        conn.ping(reconnect=False)
        return True
    except Exception:
        return False


def main():
    print(f"PyMySQL {pymysql.__version__} -> {USER}@{HOST}:{PORT}/{DB}")
    passed = failed = 0
    conn = None
    for fn in CHECKS:
        try:
            if conn is None or not usable(conn):
                conn = connect()
            fn(conn)
        except Exception as e:
            failed += 1
            print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {fn.__name__}")
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
