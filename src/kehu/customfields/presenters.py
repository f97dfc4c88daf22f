"""Custom values as the API and exports show them: the active fields' stored values (archived
fields are left out), personal ones masked unless the caller may and asked to unmask."""

from __future__ import annotations

from typing import Any

from kehu.customfields.models import FieldDefinition
from kehu.customfields.queries import active_fields

MASK = "****"


def present_custom(
    entity: str, stored: dict[str, Any] | None, *, unmasked: bool, definitions: list[FieldDefinition] | None = None
) -> dict[str, Any]:
    defs = definitions if definitions is not None else active_fields(entity)
    stored = stored or {}
    out: dict[str, Any] = {}
    for d in defs:
        if d.key not in stored:
            continue
        out[d.key] = MASK if d.is_personal and not unmasked else stored[d.key]
    return out
