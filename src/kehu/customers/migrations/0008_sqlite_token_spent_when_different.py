"""SQLite's name-token trigger (ADR 0005) rewrites each token just inserted with its customer's
spend: an UPDATE per row, which also moves the token's entry in the rank index. Now it only does so
when the inserted spend differs from the customer's; a bulk writer that gives the right spend
(`kehu.customers.bulk_upsert._copy_tokens`) then inserts each token once. The rule is unchanged:
after an insert, a token carries its customer's spend (0 without a customer), whatever the writer
gave. PostgreSQL is not affected (its trigger is a BEFORE trigger that sets the value in place)."""

from django.db import migrations

TOKENS, CUSTOMERS = "customers_searchtoken", "customers_customer"
SPEND = f"COALESCE((SELECT c.total_spent FROM {CUSTOMERS} c WHERE c.id = NEW.customer_id), 0)"

ALWAYS = (
    f"CREATE TRIGGER search_token_spent AFTER INSERT ON {TOKENS} BEGIN "
    f"UPDATE {TOKENS} SET spent = {SPEND} WHERE id = NEW.id; END;"
)
WHEN_DIFFERENT = (
    f"CREATE TRIGGER search_token_spent AFTER INSERT ON {TOKENS} WHEN NEW.spent IS NOT {SPEND} BEGIN "
    f"UPDATE {TOKENS} SET spent = {SPEND} WHERE id = NEW.id; END;"
)


def _replace(schema_editor, definition: str) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS search_token_spent")
        schema_editor.execute(definition)


def forwards(apps, schema_editor):
    _replace(schema_editor, WHEN_DIFFERENT)


def backwards(apps, schema_editor):
    _replace(schema_editor, ALWAYS)


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_order_entries_from_orders")]

    operations = [migrations.RunPython(forwards, backwards)]
