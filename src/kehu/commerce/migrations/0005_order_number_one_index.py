"""Orders keep one index on their number instead of two.

`db_index=True` gave PostgreSQL a plain index and a `varchar_pattern_ops` twin; the twin alone
serves both the exact lookups and the order list's prefix filter, and nothing sorts by number,
so the plain one only cost time on every insert (about a tenth of an order import's index
upkeep). The twin is kept and renamed, so no index is rebuilt. SQLite had only the plain index,
which is recreated under the new name."""

from django.db import migrations, models

TABLE = "commerce_order"


def _names(schema_editor):
    plain = schema_editor._create_index_name(TABLE, ["number"])
    return plain, plain + "_like"


def forwards(apps, schema_editor):
    plain, like = _names(schema_editor)
    quote = schema_editor.quote_name
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(plain)}")
        schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(like)} RENAME TO order_number")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS order_number ON {quote(TABLE)} (number varchar_pattern_ops)")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(plain)}")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS order_number ON {quote(TABLE)} (number)")


def backwards(apps, schema_editor):
    plain, like = _names(schema_editor)
    quote = schema_editor.quote_name
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX IF EXISTS order_number RENAME TO {quote(like)}")
    else:
        schema_editor.execute("DROP INDEX IF EXISTS order_number")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(plain)} ON {quote(TABLE)} (number)")


class Migration(migrations.Migration):
    dependencies = [("commerce", "0004_order_custom")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="number",
                    field=models.CharField(max_length=100, verbose_name="order number"),
                ),
                migrations.AddIndex(
                    model_name="order",
                    index=models.Index(fields=["number"], name="order_number", opclasses=["varchar_pattern_ops"]),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
