"""Shared by the ORM and GUI client tests: the two targets every scenario
runs against, and a small check runner.

Each scenario runs the same client code twice, through shardgate (a logical
schema whose tables are partly sharded) and on a plain MariaDB database of
the same name holding the same tables, and compares what the client saw.

Environment (set by scripts/client_tests.sh):
    PROXY_HOST (127.0.0.1), PROXY_PORT, ORM_USER (orm), ORM_PASSWORD (orm_pw),
    ORM_DB (shop): the proxy and the logical schema.
    REF_PORT, REF_USER (ref), REF_PASSWORD (ref_pw): the MariaDB holding the
    unsharded reference database (named as the logical schema).
    SHARD_PORTS ("p0,p1"), SHARD_DBS ("shop_0,shop_1"): the backends behind
    the schema (root, no password), to look at the actual tables directly.
"""

import os
import sys
import traceback

HOST = os.environ.get("PROXY_HOST", "127.0.0.1")
DB = os.environ.get("ORM_DB", "shop")

PROXY = {
    "name": "proxy",
    "host": HOST,
    "port": int(os.environ.get("PROXY_PORT", "3307")),
    "user": os.environ.get("ORM_USER", "orm"),
    "password": os.environ.get("ORM_PASSWORD", "orm_pw"),
    "database": DB,
}
REFERENCE = {
    "name": "reference",
    "host": HOST,
    "port": int(os.environ.get("REF_PORT", "3306")),
    "user": os.environ.get("REF_USER", "ref"),
    "password": os.environ.get("REF_PASSWORD", "ref_pw"),
    "database": DB,
}
TARGETS = [PROXY, REFERENCE]

SHARDS = list(
    zip(
        [int(p) for p in os.environ.get("SHARD_PORTS", "").split(",") if p],
        [d for d in os.environ.get("SHARD_DBS", "").split(",") if d],
    )
)


def url(target, dialect="mysql+pymysql"):
    return (f"{dialect}://{target['user']}:{target['password']}@{target['host']}:"
            f"{target['port']}/{target['database']}?charset=utf8mb4")


def direct(port, database):
    """A PyMySQL connection to one backend as root."""
    import pymysql
    return pymysql.connect(host=HOST, port=port, user="root", password="",
                           database=database, autocommit=True)


def actual_rows(prefix):
    """{(backend database, actual table): row count} of the actual tables
    named `prefix_N` on the backends."""
    counts = {}
    for port, database in SHARDS:
        conn = direct(port, database)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME REGEXP %s",
                            (database, f"^{prefix}_[0-9]+$"))
                for (table,) in cur.fetchall():
                    cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                    counts[(database, table)] = cur.fetchone()[0]
        finally:
            conn.close()
    return counts


def same(what, proxy, reference):
    """Fails with both values shown when the proxy's answer differs."""
    if proxy == reference:
        return
    if isinstance(proxy, dict) and isinstance(reference, dict):
        # Name the keys that differ rather than print two large values.
        lines = [f"{what} differs"]
        for key in sorted(set(proxy) | set(reference), key=str):
            if proxy.get(key) != reference.get(key):
                lines.append(f"  [{key!r}]\n    proxy:     {proxy.get(key)!r}\n"
                             f"    reference: {reference.get(key)!r}")
        raise AssertionError("\n".join(lines))
    raise AssertionError(f"{what} differs\n  proxy:     {proxy!r}\n"
                         f"  reference: {reference!r}")


class Checks:
    """Runs named checks in order; prints one line each and a summary."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - every failure is reported, the run goes on
            self.failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print(f"ok   {name}")
        sys.stdout.flush()

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
