"""Reads of custom fields: the active definitions of an entity, whether stored records hold a
field's values, and the list filters (SQL per database from `kehu.customfields.indexes`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from kehu.customfields.models import FieldDefinition, FieldType
from kehu.customfields.registry import get_entity

if TYPE_CHECKING:
    from django.db.models import QuerySet


def active_fields(entity: str) -> list[FieldDefinition]:
    return list(FieldDefinition.objects.filter(entity=entity, is_active=True).order_by("position", "pk"))


def all_fields(entity: str) -> list[FieldDefinition]:
    return list(FieldDefinition.objects.filter(entity=entity).order_by("position", "pk"))


def _records(definition: FieldDefinition) -> QuerySet[Any]:
    entity = get_entity(definition.entity)
    assert entity is not None, definition.entity
    return entity.model()._default_manager.all()


def field_has_data(definition: FieldDefinition) -> bool:
    """Whether any record holds a value under this field's key."""
    return _records(definition).filter(custom__has_key=definition.key).exists()


def records_using_choice(definition: FieldDefinition, value: str) -> bool:
    return _records(definition).filter(_choice_condition(definition, [value])).exists()


def _choice_condition(definition: FieldDefinition, values: list[str]) -> Q:
    return CustomFilter(definition, "any", value=tuple(values)).condition()


@dataclass(frozen=True)
class CustomFilter:
    """One filter on one custom field, parsed from the list's query string. Compiled to SQL that
    reads the key once per row and matches the expression indexes of `kehu.customfields.indexes`
    (keys are validated slugs, so they are safe in the SQL text; values are parameters)."""

    definition: FieldDefinition
    op: str  # eq, contains, range, any, yes, no
    value: Any = None
    low: Any = None
    high: Any = None

    def condition(self) -> Q:
        from kehu.customfields import indexes

        d = self.definition
        table = indexes.table_for(d)
        text = indexes.text_expression(table, d.key)
        if self.op == "eq":
            return _raw(f"{text} = %s", [self.value])
        if self.op == "contains":
            escaped = self.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return _raw(f"{text} {indexes.like_operator()} %s ESCAPE '\\'", [f"%{escaped}%"])
        if self.op == "range":
            parts, params = [], []
            value = indexes.value_expression(table, d)
            for bound, operator in ((self.low, ">="), (self.high, "<=")):
                if bound is not None:
                    parts.append(f"{value} {operator} {indexes.placeholder(d)}")
                    params.append(indexes.parameter(d, bound))
            return _raw(" AND ".join(parts), params)
        if self.op == "any":
            return _raw(*indexes.any_of(table, d, list(self.value)))
        if self.op in ("yes", "no"):
            return _raw(*indexes.is_true(table, d.key, self.op == "yes"))
        raise ValueError(self.op)


def _raw(sql: str, params: list[Any]) -> Q:
    # Keys in `sql` are validated slugs (KEY_PATTERN); every value is a parameter.
    return Q(RawSQL(f"({sql})", params, output_field=BooleanField()))  # noqa: S611


def apply_filters(qs: QuerySet[Any], filters: list[CustomFilter]) -> QuerySet[Any]:
    for custom_filter in filters:
        qs = qs.filter(custom_filter.condition())
    return qs


def parse_filters(
    entity: str, params: Any, definitions: list[FieldDefinition] | None = None
) -> tuple[list[CustomFilter], dict[str, str]]:
    """Filters from query parameters `cf_<key>` (+ `cf_<key>_op` for text: eq or contains),
    `cf_<key>_min`/`cf_<key>_max` (number, date), several `cf_<key>` (choices), `cf_<key>` = yes/no.
    Returns the filters and an error message per parameter that could not be read (ignored)."""
    from django.core.exceptions import ValidationError

    from kehu.customfields.values import coerce_value

    defs = definitions if definitions is not None else active_fields(entity)
    filters: list[CustomFilter] = []
    errors: dict[str, str] = {}
    for d in defs:
        name = f"cf_{d.key}"
        if d.type == FieldType.TEXT:
            text = (params.get(name) or "").strip()[:200]
            if text:
                op = "contains" if params.get(f"{name}_op") == "contains" else "eq"
                filters.append(CustomFilter(d, op, value=text))
        elif d.type in (FieldType.NUMBER, FieldType.DATE):
            bounds: dict[str, Any] = {}
            for side in ("min", "max"):
                raw = (params.get(f"{name}_{side}") or "").strip()[:40]
                if not raw:
                    continue
                try:
                    bounds[side] = coerce_value(d, raw)
                except ValidationError as exc:
                    errors[f"{name}_{side}"] = " ".join(exc.messages)
            if bounds:
                filters.append(CustomFilter(d, "range", low=bounds.get("min"), high=bounds.get("max")))
        elif d.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            getlist = getattr(params, "getlist", None)
            raw_values = getlist(name) if getlist else ([params[name]] if params.get(name) else [])
            allowed = set(d.choice_values())
            values = [v for v in raw_values if v in allowed][:50]
            if values:
                filters.append(CustomFilter(d, "any", value=tuple(values)))
        elif d.type == FieldType.BOOLEAN:
            raw = params.get(name) or ""
            if raw in ("yes", "no"):
                filters.append(CustomFilter(d, raw))
    return filters, errors
