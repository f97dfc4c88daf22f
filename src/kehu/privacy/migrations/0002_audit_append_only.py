"""Make the audit log append-only in the database itself.

PostgreSQL refuses UPDATE and DELETE by trigger (TRUNCATE, an owner-only DDL operation, stays
possible for test isolation and for a documented retention purge). SQLite refuses UPDATE by
trigger; DELETE is refused by the model's manager, because SQLite's own table flush uses DELETE."""

from django.db import migrations


def forwards(apps, schema_editor):
    table = "privacy_auditevent"
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION kehu_audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit events are append-only';
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        schema_editor.execute(
            f"CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION kehu_audit_append_only();"
        )
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
        )


def backwards(apps, schema_editor):
    table = "privacy_auditevent"
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_append_only ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS kehu_audit_append_only();")
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_no_update;")


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
