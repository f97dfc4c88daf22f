"""Fewer index writes per customer row (ADR 0201, revision 3).

- `home_store` loses its single-column index: `customer_home_store (home_store, -id)` serves the
  same lookups. `household` gets a partial index: most customers have no household.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_fewer_index_writes"),
        ("customers", "0004_search_token_spent"),
    ]

    operations = [
        # Only the state changes here: on SQLite an AlterField rebuilds the whole table.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="home_store",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="home_customers",
                        to="commerce.store",
                        verbose_name="home store",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "customers_customer_home_store_id_193d41c2"',
                    'CREATE INDEX "customers_customer_home_store_id_193d41c2" ON "customers_customer" ("home_store_id")',
                ),
            ],
        ),
        # Only the state changes here: on SQLite an AlterField rebuilds the whole table.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="household",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="members",
                        to="customers.household",
                        verbose_name="household",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "customers_customer_household_id_cd20f899"',
                    'CREATE INDEX "customers_customer_household_id_cd20f899" ON "customers_customer" ("household_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("household__isnull", False)), fields=["household"], name="customer_household"
            ),
        ),
    ]
