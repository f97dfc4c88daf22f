"""SQL for filtering on custom values, and the expression indexes that make it fast.

Filters read a key once per row with the database's own JSON operator (SQLite `json_extract`,
PostgreSQL `->>`/`->`/`@>`), and each defined field gets an expression index on exactly that
expression, created when the field is defined (after the commit; `CONCURRENTLY` on PostgreSQL,
so writes to the table are not blocked while it builds). PostgreSQL also gets one GIN index
(`jsonb_path_ops`) per table once a multi-choice or yes/no field exists, for containment.
Keys are validated slugs (`KEY_PATTERN`), so they are safe inside the SQL text."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import connection

from kehu.customfields.models import FieldDefinition, FieldType
from kehu.customfields.registry import get_entity

logger = logging.getLogger(__name__)
BTREE_TYPES = frozenset({FieldType.TEXT, FieldType.NUMBER, FieldType.DATE, FieldType.CHOICE})
GIN_TYPES = frozenset({FieldType.MULTI_CHOICE, FieldType.BOOLEAN})


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def table_for(definition: FieldDefinition) -> str:
    entity = get_entity(definition.entity)
    assert entity is not None, definition.entity
    return str(entity.model()._meta.db_table)


def _column(table: str | None) -> str:
    return f"{_q(table)}.{_q('custom')}" if table else _q("custom")


def text_expression(table: str | None, key: str) -> str:
    """The value under `key` as SQL text (numbers as numbers on SQLite)."""
    if _pg():
        return f"({_column(table)} ->> '{key}')"
    return f"json_extract({_column(table)}, '$.\"{key}\"')"


def value_expression(table: str | None, definition: FieldDefinition) -> str:
    """What range filters compare: JSON numbers as numbers, ISO dates as text."""
    if _pg() and definition.type == FieldType.NUMBER:
        return f"({_column(table)} -> '{definition.key}')"
    return text_expression(table, definition.key)


def placeholder(definition: FieldDefinition) -> str:
    return "%s::jsonb" if _pg() and definition.type == FieldType.NUMBER else "%s"


def parameter(definition: FieldDefinition, value: Any) -> Any:
    return json.dumps(value) if _pg() and definition.type == FieldType.NUMBER else value


def like_operator() -> str:
    """Case-insensitive LIKE (SQLite's LIKE already is, for ASCII)."""
    return "ILIKE" if _pg() else "LIKE"


def any_of(table: str, definition: FieldDefinition, values: list[str]) -> tuple[str, list[Any]]:
    if definition.type == FieldType.MULTI_CHOICE:
        if _pg():
            parts = [f"{_column(table)} @> %s::jsonb"] * len(values)
            return " OR ".join(parts), [json.dumps({definition.key: [v]}) for v in values]
        # Choice values are slugs: the quoted value inside the array's JSON text is an exact match.
        parts = [f"{text_expression(table, definition.key)} LIKE %s"] * len(values)
        return " OR ".join(parts), [f'%"{v}"%' for v in values]
    marks = ", ".join(["%s"] * len(values))
    return f"{text_expression(table, definition.key)} IN ({marks})", list(values)


def is_true(table: str, key: str, wanted: bool) -> tuple[str, list[Any]]:
    if _pg():
        return f"{_column(table)} @> %s::jsonb", [json.dumps({key: wanted})]
    return f"{text_expression(table, key)} = %s", [1 if wanted else 0]


# --- indexes -----------------------------------------------------------------------------------


def index_name(definition: FieldDefinition) -> str:
    return f"cf_{definition.entity}_{definition.key}_{definition.type}"[:63]


def index_statements(definition: FieldDefinition, *, concurrently: bool) -> list[str]:
    table = table_for(definition)
    how = "CONCURRENTLY " if concurrently and _pg() else ""
    statements = []
    if definition.type in BTREE_TYPES:
        expression = value_expression(None, definition)
        statements.append(
            f"CREATE INDEX {how}IF NOT EXISTS {_q(index_name(definition))} ON {_q(table)} (({expression}))"
            if _pg()
            else f"CREATE INDEX IF NOT EXISTS {_q(index_name(definition))} ON {_q(table)} ({expression})"
        )
    if definition.type in GIN_TYPES and _pg():
        gin = f"cf_{definition.entity}_custom_gin"
        statements.append(f"CREATE INDEX {how}IF NOT EXISTS {_q(gin)} ON {_q(table)} USING gin (custom jsonb_path_ops)")
    return statements


def ensure_indexes(definition_id: int) -> None:
    """Create the indexes a field's filters use (idempotent). Runs after the defining
    transaction commits; a failure is logged, never raised: filters work without the index."""
    definition = FieldDefinition.objects.filter(pk=definition_id).first()
    if definition is None:
        return
    concurrently = not connection.in_atomic_block
    try:
        with connection.cursor() as cursor:
            for statement in index_statements(definition, concurrently=concurrently):
                cursor.execute(statement)
    except Exception:
        logger.exception("could not create the index for custom field %s", definition)
