#!/usr/bin/env python3
"""SQLAlchemy (PyMySQL driver) through shardgate, compared with a plain
MariaDB: DDL by metadata.create_all, reflection of every table (inspect()
and MetaData.reflect), ORM CRUD and aggregates on a sharded table, and a
rolled-back transaction. See compare.py for the environment.

    scripts/client_tests.sh runs it with the virtualenv it prepares.
"""

import datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Column, DateTime, ForeignKey, Index, Integer,
                        MetaData, Numeric, String, Table, Text, UniqueConstraint,
                        create_engine, func, inspect, select, text)
from sqlalchemy.orm import Session, declarative_base

from compare import PROXY, REFERENCE, TARGETS, Checks, actual_rows, same, url

Base = declarative_base()


class User(Base):
    """Unsharded: lives on the schema's default data source."""
    __tablename__ = "sa_user"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False)
    email = Column(String(80), nullable=False, default="", comment="where to write")
    __table_args__ = (UniqueConstraint("email", name="uq_sa_user_email"),
                      {"comment": "people"})


class Address(Base):
    """Unsharded, with a foreign key to sa_user."""
    __tablename__ = "sa_address"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("sa_user.id", ondelete="CASCADE"), nullable=False)
    city = Column(String(40))


class Tag(Base):
    """A broadcast table: a full copy on every data source."""
    __tablename__ = "sa_tag"
    id = Column(Integer, primary_key=True, autoincrement=False)
    label = Column(String(20), nullable=False)


class Order(Base):
    """Sharded by user_id (data source) and id (table); id from the proxy's
    snowflake key generator, AUTO_INCREMENT on the reference."""
    __tablename__ = "sa_order"
    id = Column(BigInteger, primary_key=True)
    user_id = Column(Integer, nullable=False)
    amount = Column(Numeric(10, 2), nullable=False)
    status = Column(String(16), nullable=False, server_default="new")
    note = Column(Text)
    created = Column(DateTime, nullable=False)
    __table_args__ = (Index("ix_sa_order_user_status", "user_id", "status"),)


ORDERS = [(1, "10.50", "new"), (1, "3.25", "paid"), (2, "99.99", "new"),
          (3, "0.01", "paid"), (4, "42.00", "new"), (5, "7.70", "paid"),
          (6, "12.00", "new"), (7, "1.00", "new")]
DAY = datetime.datetime(2024, 5, 6, 7, 8, 9)

engines = {t["name"]: create_engine(url(t), pool_pre_ping=True) for t in TARGETS}


def on_both(fn):
    """fn(engine) on the proxy and on the reference; their results compared."""
    results = [fn(engines[t["name"]]) for t in (PROXY, REFERENCE)]
    same(fn.__name__, results[0], results[1])
    return results[0]


def create_tables():
    def create(engine):
        with engine.begin() as conn:
            for table in ("sa_address", "sa_order", "sa_user", "sa_tag"):
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add_all([User(name="ann", email="ann@x"), User(name="bob", email="bob@x")])
            s.flush()
            s.add(Address(user_id=1, city="Oslo"))
            s.add_all([Tag(id=1, label="red"), Tag(id=2, label="blue")])
            s.commit()
        return sorted(inspect(engine).get_table_names())
    tables = on_both(create)
    assert {"sa_address", "sa_order", "sa_tag", "sa_user"} <= set(tables), tables


def reflection_of_every_table():
    def reflect(engine):
        insp = inspect(engine)
        out = {}
        for table in sorted(insp.get_table_names()):
            out[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"),
                             c.get("autoincrement"), c.get("comment"))
                            for c in insp.get_columns(table)],
                "pk": insp.get_pk_constraint(table),
                "indexes": sorted(insp.get_indexes(table), key=lambda i: i["name"]),
                "fks": insp.get_foreign_keys(table),
                "unique": insp.get_unique_constraints(table),
                "comment": insp.get_table_comment(table),
                "options": {k: v for k, v in insp.get_table_options(table).items()
                            if k != "mysql_auto_increment" and k != "mariadb_auto_increment"},
            }
        out["views"] = insp.get_view_names()
        out["schemas"] = [s for s in insp.get_schema_names()]
        out["has_sa_order"] = insp.has_table("sa_order")
        out["has_nosuch"] = insp.has_table("sa_nosuch")
        return out
    got = on_both(reflect)
    assert got["has_sa_order"] and not got["has_nosuch"]
    columns = [c[0] for c in got["sa_order"]["columns"]]
    assert columns == ["id", "user_id", "amount", "status", "note", "created"], columns

    def metadata_reflect(engine):
        md = MetaData()
        md.reflect(bind=engine)
        return {name: ([(c.name, str(c.type), c.nullable, c.primary_key)
                        for c in t.columns],
                       sorted((i.name, tuple(c.name for c in i.columns)) for i in t.indexes),
                       sorted(fk.target_fullname for fk in t.foreign_keys))
                for name, t in md.tables.items()}
    reflected = on_both(metadata_reflect)
    assert reflected["sa_address"][2] == ["sa_user.id"], reflected["sa_address"]

    # A table reflected by name alone (autoload) can be queried.
    def autoload(engine):
        orders = Table("sa_order", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(orders)).scalar()
    on_both(autoload)


def orders_seen(engine):
    with Session(engine) as s:
        rows = s.execute(select(Order.user_id, Order.amount, Order.status, Order.note)
                         .order_by(Order.user_id, Order.amount)).all()
        return [tuple(r) for r in rows]


def orm_crud_on_a_sharded_table():
    def crud(engine):
        with Session(engine) as s:
            orders = [Order(user_id=u, amount=Decimal(a), status=st, created=DAY)
                      for u, a, st in ORDERS]
            s.add_all(orders)
            s.commit()
            ids = [o.id for o in orders]
            assert all(ids) and len(set(ids)) == len(ids), ids
            # Each object's id finds its row again (a point read on the shard).
            for o, (u, a, _) in zip(orders, ORDERS):
                got = s.get(Order, o.id)
                assert got is not None and got.user_id == u and got.amount == Decimal(a)
            s.expunge_all()
            one = s.scalars(select(Order).where(Order.user_id == 2)).one()
            one.status = "paid"
            one.note = "updated ü"
            s.commit()
            gone = s.scalars(select(Order).where(Order.user_id == 7)).one()
            s.delete(gone)
            s.commit()
            # A bulk UPDATE across shards, by the ORM.
            s.query(Order).filter(Order.status == "new").update(
                {Order.note: "bulk"}, synchronize_session=False)
            s.commit()
        with Session(engine) as s:
            aggregates = s.execute(
                select(Order.status, func.count(), func.sum(Order.amount),
                       func.min(Order.amount), func.max(Order.amount))
                .group_by(Order.status).order_by(Order.status)).all()
            total = s.scalar(select(func.count()).select_from(Order))
            paged = s.execute(select(Order.amount).order_by(Order.amount.desc())
                              .limit(3).offset(1)).scalars().all()
            joined = s.execute(select(Order.amount, Tag.label)
                               .join(Tag, Tag.id == (Order.user_id % 2) + 1)
                               .where(Order.user_id == 1)
                               .order_by(Order.amount)).all()
        return (orders_seen(engine), [tuple(r) for r in aggregates], total, paged,
                [tuple(r) for r in joined])
    on_both(crud)
    # The rows are spread over the actual tables of both data sources.
    counts = actual_rows("sa_order")
    assert len(counts) == 4, counts
    assert sum(counts.values()) == len(ORDERS) - 1, counts
    assert len({db for (db, _), n in counts.items() if n}) == 2, counts


def rolled_back_transaction():
    def rollback(engine):
        before = orders_seen(engine)
        with Session(engine) as s:
            s.add(Order(user_id=8, amount=Decimal("5.00"), created=DAY))
            s.add(Order(user_id=9, amount=Decimal("6.00"), created=DAY))
            s.flush()
            s.execute(text("UPDATE sa_order SET note = 'rolled back' WHERE user_id = 1"))
            s.execute(text("DELETE FROM sa_order WHERE user_id = 3"))
            inside = s.scalar(select(func.count()).select_from(Order))
            s.rollback()
        after = orders_seen(engine)
        assert after == before, (before, after)
        # A savepoint rolled back inside a committed transaction.
        with Session(engine) as s:
            s.add(Order(user_id=10, amount=Decimal("1.10"), created=DAY))
            nested = s.begin_nested()
            s.add(Order(user_id=10, amount=Decimal("2.20"), created=DAY))
            s.flush()
            nested.rollback()
            s.commit()
        return inside, orders_seen(engine)
    on_both(rollback)


def main():
    checks = Checks()
    for name, fn in [
        ("sqlalchemy: create_all", create_tables),
        ("sqlalchemy: reflection of every table", reflection_of_every_table),
        ("sqlalchemy: ORM CRUD on a sharded table", orm_crud_on_a_sharded_table),
        ("sqlalchemy: rolled-back transaction", rolled_back_transaction),
    ]:
        checks.run(name, fn)
    checks.finish()


if __name__ == "__main__":
    main()
