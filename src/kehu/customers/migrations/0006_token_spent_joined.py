"""A bulk writer of name tokens may join each token's spend itself (ADR 0005): for one statement
it sets `kehu.token_spent_joined = 'on'` and the insert trigger stands aside. The condition is
a plain expression, evaluated without entering PL/pgSQL; every other insert still takes its
spend from the trigger. PostgreSQL only (SQLite keeps its trigger unchanged)."""

from django.db import migrations

TOKENS = "customers_searchtoken"

WITH_CONDITION = f"""
DROP TRIGGER IF EXISTS search_token_spent ON {TOKENS};
CREATE TRIGGER search_token_spent BEFORE INSERT ON {TOKENS}
    FOR EACH ROW WHEN (current_setting('kehu.token_spent_joined', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION kehu_search_token_spent();
ALTER TABLE {TOKENS} ENABLE ALWAYS TRIGGER search_token_spent;
"""

WITHOUT_CONDITION = f"""
DROP TRIGGER IF EXISTS search_token_spent ON {TOKENS};
CREATE TRIGGER search_token_spent BEFORE INSERT ON {TOKENS}
    FOR EACH ROW EXECUTE FUNCTION kehu_search_token_spent();
ALTER TABLE {TOKENS} ENABLE ALWAYS TRIGGER search_token_spent;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WITH_CONDITION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WITHOUT_CONDITION)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_fewer_index_writes")]

    operations = [migrations.RunPython(forwards, backwards)]
