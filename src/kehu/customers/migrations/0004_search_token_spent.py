"""Name search ranks namesakes by spend straight off an index: each name token carries a copy of
its customer's total_spent, kept by database triggers (ADR 0005).

- On insert of a token, its `spent` is set from the customer (whatever the writer gave).
- On a change of a customer's total_spent, the customer's tokens take the new figure.
Existing tokens are filled in here."""

from decimal import Decimal

from django.db import migrations, models

TOKENS, CUSTOMERS = "customers_searchtoken", "customers_customer"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"UPDATE {TOKENS} t SET spent = c.total_spent FROM {CUSTOMERS} c "
            "WHERE c.id = t.customer_id AND t.spent IS DISTINCT FROM c.total_spent"
        )
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION kehu_search_token_spent() RETURNS trigger AS $$
            BEGIN
                NEW.spent := COALESCE((SELECT c.total_spent FROM {CUSTOMERS} c WHERE c.id = NEW.customer_id), 0);
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER search_token_spent BEFORE INSERT ON {TOKENS}
                FOR EACH ROW EXECUTE FUNCTION kehu_search_token_spent();
            CREATE OR REPLACE FUNCTION kehu_customer_spent_to_tokens() RETURNS trigger AS $$
            BEGIN
                UPDATE {TOKENS} SET spent = NEW.total_spent WHERE customer_id = NEW.id;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER customer_spent_to_tokens AFTER UPDATE OF total_spent ON {CUSTOMERS}
                FOR EACH ROW WHEN (OLD.total_spent IS DISTINCT FROM NEW.total_spent)
                EXECUTE FUNCTION kehu_customer_spent_to_tokens();
            -- Also under `session_replication_role = replica`, which bulk imports set to check
            -- foreign keys set-based (kehu.imports.bulksql): the copy must never be skipped.
            ALTER TABLE {TOKENS} ENABLE ALWAYS TRIGGER search_token_spent;
            ALTER TABLE {CUSTOMERS} ENABLE ALWAYS TRIGGER customer_spent_to_tokens;
            """
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"UPDATE {TOKENS} SET spent = (SELECT c.total_spent FROM {CUSTOMERS} c WHERE c.id = {TOKENS}.customer_id)"
        )
        schema_editor.execute(
            f"CREATE TRIGGER search_token_spent AFTER INSERT ON {TOKENS} BEGIN "
            f"UPDATE {TOKENS} SET spent = COALESCE((SELECT c.total_spent FROM {CUSTOMERS} c "
            "WHERE c.id = NEW.customer_id), 0) WHERE id = NEW.id; END;"
        )
        schema_editor.execute(
            f"CREATE TRIGGER customer_spent_to_tokens AFTER UPDATE OF total_spent ON {CUSTOMERS} "
            f"WHEN OLD.total_spent IS NOT NEW.total_spent BEGIN "
            f"UPDATE {TOKENS} SET spent = NEW.total_spent WHERE customer_id = NEW.id; END;"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS search_token_spent ON {TOKENS}; "
            f"DROP TRIGGER IF EXISTS customer_spent_to_tokens ON {CUSTOMERS}; "
            "DROP FUNCTION IF EXISTS kehu_search_token_spent(); DROP FUNCTION IF EXISTS kehu_customer_spent_to_tokens();"
        )
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS search_token_spent")
        schema_editor.execute("DROP TRIGGER IF EXISTS customer_spent_to_tokens")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_search_rank_index")]

    operations = [
        migrations.AddField(
            model_name="searchtoken",
            name="spent",
            field=models.DecimalField(db_default=Decimal("0.00"), decimal_places=2, editable=False, max_digits=14),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="searchtoken",
            index=models.Index(fields=["token", "-spent", "-customer"], name="search_token_rank"),
        ),
    ]
