"""The models the Django client test migrates and uses. `Order` is sharded
in shardgate's rule file (by customer_id, then id), `Tag` is a broadcast
table, `Customer` lives unsharded on the default data source."""

from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=40)
    email = models.EmailField(unique=True)
    joined = models.DateField()


class Tag(models.Model):
    label = models.CharField(max_length=20, unique=True)


class Order(models.Model):
    STATUSES = [("new", "new"), ("paid", "paid"), ("sent", "sent")]
    customer_id = models.IntegerField(db_index=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=8, choices=STATUSES, default="new")
    note = models.TextField(null=True, blank=True)
    placed = models.DateTimeField()
    paid = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["customer_id", "status"], name="order_customer_status")]
