"""The timeline's order entries are read from the order table itself (ADR 0006), so the rows
that used to copy each order into the interaction table go. Backwards, they are written again
from the orders (title and amount as the writers stored them, the title in English)."""

from django.db import migrations

INTERACTIONS = "customers_interaction"
ORDERS = "commerce_order"

REMOVE = f"DELETE FROM {INTERACTIONS} WHERE kind = 'order' AND ref_type = 'order'"

RESTORE = f"""
INSERT INTO {INTERACTIONS} (customer_id, kind, occurred_at, channel_id, title, detail, ref_type, ref_id)
SELECT customer_id, 'order', ordered_at, channel_id, 'Order ' || number, '¥' || {{amount}}, 'order', id
FROM {ORDERS}
ORDER BY id
"""


def forwards(apps, schema_editor):
    schema_editor.execute(REMOVE)


def backwards(apps, schema_editor):
    # Two decimals as the writers wrote them (SQLite keeps 299.00 as the number 299).
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(
        RESTORE.format(amount="CAST(paid_amount AS TEXT)" if postgres else "printf('%.2f', paid_amount)")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_token_spent_joined"),
        ("commerce", "0006_fewer_index_writes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
