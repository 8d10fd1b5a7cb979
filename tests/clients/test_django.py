#!/usr/bin/env python3
"""Django (PyMySQL as MySQLdb) through shardgate, compared with a plain
MariaDB: migrate, introspection (the tables, their columns, constraints and
relations, and inspectdb's models), ORM CRUD, aggregates and a rolled-back
atomic block on a sharded table. The app is django_shop/shopapp; see
compare.py for the environment.
"""

import datetime
import io
import os
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "django_shop")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections, transaction  # noqa: E402
from django.db.models import Avg, Count, F, Max, Min, Q, Sum  # noqa: E402
from shopapp.models import Customer, Order, Tag  # noqa: E402

from compare import Checks, actual_rows, same  # noqa: E402

ALIASES = ["default", "reference"]  # the proxy, then the plain MariaDB
PLACED = datetime.datetime(2024, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
ORDERS = [(1, "10.00", "new"), (1, "20.00", "paid"), (2, "5.50", "new"),
          (3, "7.25", "sent"), (4, "100.00", "paid"), (5, "0.99", "new"),
          (6, "3.00", "new"), (7, "8.80", "paid"), (8, "1.00", "sent")]


def on_both(fn):
    results = [fn(alias) for alias in ALIASES]
    same(fn.__name__, results[0], results[1])
    return results[0]


def drop_everything(alias):
    conn = connections[alias]
    with conn.cursor() as cur:
        tables = conn.introspection.table_names(cur)
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            cur.execute(f"DROP TABLE {conn.ops.quote_name(table)}")
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")


def migrate():
    def run(alias):
        drop_everything(alias)
        out = io.StringIO()
        call_command("migrate", database=alias, interactive=False, verbosity=1, stdout=out)
        # Applied migrations, as `showmigrations` lists them.
        listing = io.StringIO()
        call_command("showmigrations", database=alias, stdout=listing)
        # A second migrate finds nothing to do.
        again = io.StringIO()
        call_command("migrate", database=alias, interactive=False, stdout=again)
        assert "No migrations to apply" in again.getvalue(), again.getvalue()
        return [line for line in out.getvalue().splitlines() if "Applying" in line], \
            listing.getvalue()
    applied, _ = on_both(run)
    assert any("shopapp.0001_initial" in line for line in applied), applied


def introspection():
    def look(alias):
        conn = connections[alias]
        intro = conn.introspection
        out = {}
        with conn.cursor() as cur:
            tables = intro.get_table_list(cur)
            out["tables"] = sorted((t.name, t.type) for t in tables)
            for t in sorted(tables, key=lambda t: t.name):
                desc = intro.get_table_description(cur, t.name)
                out[t.name] = {
                    "columns": [tuple(d) for d in desc],
                    "constraints": intro.get_constraints(cur, t.name),
                    "relations": intro.get_relations(cur, t.name),
                    "sequences": intro.get_sequences(cur, t.name),
                    "pk": intro.get_primary_key_column(cur, t.name),
                }
        models = io.StringIO()
        call_command("inspectdb", database=alias, stdout=models)
        out["inspectdb"] = models.getvalue()
        out["django_table_names"] = sorted(intro.django_table_names(only_existing=True))
        return out
    got = on_both(look)
    assert ("shopapp_order", "t") in got["tables"], got["tables"]
    assert "class ShopappOrder(models.Model):" in got["inspectdb"], got["inspectdb"]
    columns = [c[0] for c in got["shopapp_order"]["columns"]]
    assert columns == ["id", "customer_id", "amount", "status", "note", "placed", "paid"], columns


def orders(alias):
    return list(Order.objects.using(alias).order_by("customer_id", "amount")
                .values_list("customer_id", "amount", "status", "note", "paid"))


def crud_and_aggregates():
    def run(alias):
        db = Order.objects.using(alias)
        Customer.objects.using(alias).create(name="ann", email="ann@x",
                                             joined=datetime.date(2024, 1, 1))
        Tag.objects.using(alias).bulk_create([Tag(label="red"), Tag(label="blue")])
        made = [db.create(customer_id=c, amount=Decimal(a), status=s, placed=PLACED)
                for c, a, s in ORDERS]
        ids = [o.pk for o in made]
        assert all(ids) and len(set(ids)) == len(ids), ids
        for o in made:
            again = db.get(pk=o.pk)
            assert (again.customer_id, again.amount) == (o.customer_id, o.amount)
        db.bulk_create([Order(customer_id=9, amount=Decimal("9.90"), placed=PLACED),
                        Order(customer_id=10, amount=Decimal("10.10"), placed=PLACED)])
        one = db.get(customer_id=2)
        one.status, one.note = "paid", "paid by card ü"
        # A plain save() assigns every column, the sharding column too, with
        # only the primary key in the WHERE: shardgate refuses that (sql.md,
        # an UPDATE may not move a row), so sharded models name their fields.
        one.save(update_fields=["status", "note"])
        db.filter(status="paid").update(paid=True)
        db.filter(customer_id__in=[3, 4]).update(amount=F("amount") + 1)
        db.filter(customer_id=6).delete()
        got, created = db.get_or_create(customer_id=11, defaults={
            "amount": Decimal("11.00"), "placed": PLACED})
        assert created
        _, created = db.update_or_create(customer_id=11, defaults={"note": "updated"})
        assert not created
        summary = db.aggregate(n=Count("id"), total=Sum("amount"), avg=Avg("amount"),
                               lo=Min("amount"), hi=Max("amount"))
        by_status = list(db.values("status").annotate(n=Count("id"), total=Sum("amount"))
                         .order_by("status"))
        return {
            "orders": orders(alias),
            "summary": summary,
            "by_status": by_status,
            "count": db.count(),
            "paid": db.filter(paid=True).count(),
            "exists": (db.filter(customer_id=1).exists(), db.filter(customer_id=99).exists()),
            "top": list(db.order_by("-amount").values_list("amount", flat=True)[1:4]),
            "either": list(db.filter(Q(customer_id=1) | Q(status="sent"))
                           .order_by("amount").values_list("amount", flat=True)),
            "dates": list(db.dates("placed", "day")),
            "tags": list(Tag.objects.using(alias).order_by("label")
                         .values_list("label", flat=True)),
        }
    on_both(run)
    counts = actual_rows("shopapp_order")
    assert len(counts) == 4, counts
    assert sum(counts.values()) == len(ORDERS) + 2, counts
    assert len({db for (db, _), n in counts.items() if n}) == 2, counts


class Abort(Exception):
    pass


def rolled_back_atomic():
    def run(alias):
        before = orders(alias)
        db = Order.objects.using(alias)
        try:
            with transaction.atomic(using=alias):
                db.create(customer_id=20, amount=Decimal("1.00"), placed=PLACED)
                db.create(customer_id=21, amount=Decimal("2.00"), placed=PLACED)
                db.filter(customer_id=1).update(note="rolled back")
                db.filter(customer_id=5).delete()
                inside = db.count()
                raise Abort
        except Abort:
            pass
        assert orders(alias) == before
        with transaction.atomic(using=alias):
            db.create(customer_id=22, amount=Decimal("3.00"), placed=PLACED)
            try:
                with transaction.atomic(using=alias):
                    db.create(customer_id=22, amount=Decimal("4.00"), placed=PLACED)
                    raise Abort
            except Abort:
                pass
        return inside, orders(alias)
    on_both(run)


def save_of_every_field_is_refused():
    """On the proxy only: the refusal names the sharding column (1235)."""
    from django.db.utils import NotSupportedError
    one = Order.objects.using("default").filter(customer_id=1).first()
    try:
        one.save(using="default")
    except NotSupportedError as e:
        assert e.args[0] == 1235 and "customer_id" in e.args[1], e.args
    else:
        raise AssertionError("save() assigning the sharding column succeeded")


def main():
    checks = Checks()
    for name, fn in [
        ("django: migrate", migrate),
        ("django: introspection and inspectdb", introspection),
        ("django: ORM CRUD and aggregates on a sharded table", crud_and_aggregates),
        ("django: rolled-back atomic block", rolled_back_atomic),
        ("django: save() re-assigning the sharding column is refused",
         save_of_every_field_is_refused),
    ]:
        checks.run(name, fn)
    checks.finish()


if __name__ == "__main__":
    main()
