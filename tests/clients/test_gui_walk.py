#!/usr/bin/env python3
"""A table-browsing walk as DBeaver and MySQL Workbench do it: the metadata
queries they send on connect, on opening the schema, and on opening each
table (columns, indexes, keys, DDL, the first 200 rows), compared with what
a plain MariaDB holding the same tables answers: the same column names and
types, the same rows, logical names only. Runs after the ORM tests, over the
tables they left (see compare.py for the environment).

Values that differ between any two servers (times, sizes, row estimates,
AUTO_INCREMENT, generated ids) are masked before comparing.
"""

import re

import pymysql

from compare import PROXY, REFERENCE, Checks, same

VOLATILE = {
    "create_time", "update_time", "check_time", "table_rows", "rows", "avg_row_length",
    "data_length", "max_data_length", "index_length", "data_free", "auto_increment",
    "cardinality", "checksum",
    # Ids from the proxy's key generator, insert-time stamps of the ORMs.
    "id", "createdat", "updatedat", "applied",
    # Where a sharded table's plan names a data source: not in a plain MariaDB.
    "data_source",
}


def connect(target):
    return pymysql.connect(host=target["host"], port=target["port"], user=target["user"],
                           password=target["password"], database=target["database"],
                           charset="utf8mb4", autocommit=True)


CONNS = {t["name"]: connect(t) for t in (PROXY, REFERENCE)}
USERS = {PROXY["name"]: PROXY["user"], REFERENCE["name"]: REFERENCE["user"]}


def answer(name, sql, sort=False):
    """Column names and types, and rows (volatile values masked) of `sql`."""
    with CONNS[name].cursor() as cur:
        cur.execute(sql)
        columns = [(d[0], d[1]) for d in cur.description or []]
        rows = []
        for row in cur.fetchall():
            out = []
            for (column, _), value in zip(columns, row):
                if column.lower() in VOLATILE:
                    value = "<masked>"
                elif isinstance(value, str):
                    # The account that created an object: each side's own user.
                    value = re.sub(r"\bAUTO_INCREMENT=\d+ ", "", value)
                    value = value.replace(f"`{USERS[name]}`@`%`", "`USER`@`%`") \
                        .replace(f"{USERS[name]}@%", "USER@%")
                out.append(value)
            rows.append(tuple(out))
    if sort:
        rows.sort(key=repr)
    return columns, rows


def compare(sql, sort=False):
    results = [answer(t["name"], sql, sort) for t in (PROXY, REFERENCE)]
    same(sql, results[0], results[1])
    return results[0]


# (`SELECT @@version_comment`, which tools also send, says shardgate.)
ON_CONNECT = [
    "SHOW VARIABLES LIKE 'lower_case_table_names'",
    "SELECT DATABASE()",
    "SHOW DATABASES",
    "SELECT * FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME",
    "SHOW CHARSET LIKE 'utf8mb4'",
]

ON_SCHEMA = [
    "SHOW FULL TABLES FROM `shop`",
    "SHOW TABLE STATUS FROM `shop`",
    "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME",
    "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_COMMENT "
    "FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
    "SELECT * FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME",
    "SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'shop' ORDER BY ROUTINE_NAME",
    "SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop' ORDER BY TRIGGER_NAME",
    "SELECT * FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = 'shop' "
    "ORDER BY TABLE_NAME, CONSTRAINT_NAME",
    "SELECT * FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'shop' "
    "ORDER BY TABLE_NAME, CONSTRAINT_NAME",
    "SELECT * FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'shop' "
    "ORDER BY TABLE_NAME, CONSTRAINT_NAME",
    "SHOW TRIGGERS FROM `shop`",
    # (SHOW PROCEDURE|FUNCTION STATUS, which lists every database's routines,
    # is refused with 1235 pointing to information_schema.ROUTINES.)
]

ON_TABLE = [
    ("SHOW FULL COLUMNS FROM `{t}` FROM `shop`", False),
    ("SHOW INDEX FROM `{t}` FROM `shop`", False),
    ("SHOW CREATE TABLE `shop`.`{t}`", False),
    ("SHOW TABLE STATUS FROM `shop` LIKE '{t}'", False),
    ("SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' "
     "AND TABLE_NAME = '{t}' ORDER BY ORDINAL_POSITION", False),
    ("SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop' "
     "AND TABLE_NAME = '{t}' ORDER BY INDEX_NAME, SEQ_IN_INDEX", False),
    ("SELECT kc.CONSTRAINT_NAME, kc.COLUMN_NAME, kc.ORDINAL_POSITION, kc.REFERENCED_TABLE_SCHEMA, "
     "kc.REFERENCED_TABLE_NAME, kc.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE, rc.DELETE_RULE "
     "FROM information_schema.KEY_COLUMN_USAGE kc LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc "
     "ON rc.CONSTRAINT_SCHEMA = kc.CONSTRAINT_SCHEMA AND rc.CONSTRAINT_NAME = kc.CONSTRAINT_NAME "
     "AND rc.TABLE_NAME = kc.TABLE_NAME "
     "WHERE kc.TABLE_SCHEMA = 'shop' AND kc.TABLE_NAME = '{t}' "
     "ORDER BY kc.CONSTRAINT_NAME, kc.ORDINAL_POSITION", False),
    ("SELECT * FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = 'shop' "
     "AND TABLE_NAME = '{t}'", False),
    ("SELECT COUNT(*) FROM `shop`.`{t}`", False),
    # The data tab; a sharded table's rows come in no fixed order.
    ("SELECT * FROM `shop`.`{t}` LIMIT 200", True),
]


def setup():
    """A view, a procedure and a function, created through each side."""
    for name in (PROXY["name"], REFERENCE["name"]):
        with CONNS[name].cursor() as cur:
            for sql in [
                "DROP VIEW IF EXISTS gui_customers",
                "DROP PROCEDURE IF EXISTS gui_count",
                "DROP FUNCTION IF EXISTS gui_twice",
                "CREATE VIEW gui_customers AS SELECT name, email FROM shopapp_customer",
                "CREATE PROCEDURE gui_count() SELECT COUNT(*) FROM shopapp_customer",
                "CREATE FUNCTION gui_twice(x INT) RETURNS INT DETERMINISTIC RETURN 2 * x",
            ]:
                cur.execute(sql)


def walk_on_connect():
    for sql in ON_CONNECT:
        compare(sql)


def walk_the_schema():
    for sql in ON_SCHEMA:
        compare(sql)
    _, tables = compare("SHOW FULL TABLES FROM `shop`")
    names = [t[0] for t in tables]
    for sharded in ("sa_order", "shopapp_order", "sq_orders"):
        assert sharded in names, names
    assert not any(re.search(r"_[0-9]+$", n) for n in names), names


def walk_every_table():
    _, tables = answer(PROXY["name"], "SHOW FULL TABLES FROM `shop`")
    for table, kind in tables:
        for template, sort in ON_TABLE:
            if kind == "VIEW" and "INDEX" in template:
                continue
            compare(template.format(t=table), sort)
    compare("SHOW CREATE VIEW `gui_customers`")
    compare("SHOW CREATE PROCEDURE `gui_count`")
    compare("SHOW CREATE FUNCTION `gui_twice`")
    compare("SELECT gui_twice(21)")


def main():
    checks = Checks()
    checks.run("gui walk: setup (view, procedure, function)", setup)
    checks.run("gui walk: on connect", walk_on_connect)
    checks.run("gui walk: the schema's objects", walk_the_schema)
    checks.run("gui walk: every table (columns, indexes, keys, DDL, 200 rows)", walk_every_table)
    checks.finish()


if __name__ == "__main__":
    main()
