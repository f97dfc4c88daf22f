"""Partial indexes for the order foreign keys most orders leave empty (store, salesperson): an
online order no longer costs an entry in either (ADR 0201, revision 3)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0005_order_number_one_index"),
        ("customers", "0004_search_token_spent"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="order",
            name="order_store_time",
        ),
        # Only the state changes here: on SQLite an AlterField rebuilds the whole table.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="salesperson",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="sales_orders",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="salesperson",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "commerce_order_salesperson_id_a04be976"',
                    'CREATE INDEX "commerce_order_salesperson_id_a04be976" ON "commerce_order" ("salesperson_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("store__isnull", False)), fields=["store", "-ordered_at"], name="order_store_time"
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("salesperson__isnull", False)),
                fields=["salesperson", "-ordered_at"],
                name="order_salesperson_time",
            ),
        ),
    ]
