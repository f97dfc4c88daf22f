"""Which records can carry custom fields. Each entity names the model whose `custom` JSONField
holds the values; apps add their own (e.g. tickets) with `register_entity` in `AppConfig.ready`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from django.db.models import Model
    from django.utils.functional import Promise


@dataclass(frozen=True)
class Entity:
    key: str  # "customer", "order", ...
    model_label: str  # "customers.Customer"; the model has `custom = JSONField(default=dict)`
    label: str | Promise
    import_kind: str = ""  # the import kind whose file may carry these fields ("customers")
    audit_type: str = ""  # object_type in the audit log

    def model(self) -> type[Model]:
        return apps.get_model(self.model_label)


_ENTITIES: dict[str, Entity] = {}


def register_entity(entity: Entity) -> None:
    _ENTITIES[entity.key] = entity


def entities() -> list[Entity]:
    return list(_ENTITIES.values())


def get_entity(key: str) -> Entity | None:
    return _ENTITIES.get(key)


def entity_for_import(kind: str) -> Entity | None:
    return next((e for e in _ENTITIES.values() if e.import_kind and e.import_kind == kind), None)
