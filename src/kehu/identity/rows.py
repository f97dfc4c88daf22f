"""Rows as JSON and back, exactly: full-precision times, decimals as strings, every concrete
column by attname. Used to snapshot rows a merge removes and to put them back with the same ids."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models

BATCH = 2000


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def batched(values: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def dump_rows(model: type[models.Model], pks: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows with these primary keys, as JSON-ready dicts, ordered by primary key."""
    out: list[dict[str, Any]] = []
    names = attnames(model)
    for part in batched(list(pks)):
        for row in model._base_manager.filter(pk__in=part).order_by("pk").values(*names):
            out.append({k: _encode(v) for k, v in row.items()})
    return out


def decode_row(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    return {name: fields[name].to_python(value) if value is not None else None for name, value in row.items()}


def restore_rows(label: str, rows: list[dict[str, Any]]) -> None:
    """Insert snapshotted rows again with their original primary keys and every value as it
    was, including auto_now / auto_now_add columns (which an insert would otherwise reset)."""
    if not rows:
        return
    model = apps.get_model(label)
    decoded = [decode_row(model, row) for row in rows]
    model._base_manager.bulk_create([model(**row) for row in decoded], batch_size=500)
    auto = [
        f.attname
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    if auto:
        pk = model._meta.pk.attname
        for row in decoded:
            model._base_manager.filter(pk=row[pk]).update(**{name: row[name] for name in auto})


def current_row(model: type[models.Model], pk: Any) -> dict[str, Any] | None:
    rows = dump_rows(model, [pk])
    return rows[0] if rows else None
