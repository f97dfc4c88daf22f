"""Custom fields in /api/openapi.json. Request and response schemas mark their `custom` property
with `x-custom-fields: <entity>`; the API's `get_openapi_schema` (built on every request) calls
`describe_custom_fields`, which replaces each marked property with an object listing the
entity's active fields (type, enum of choice values), so a field defined in the settings pages
appears in the document at once, without a restart."""

from __future__ import annotations

import copy
from typing import Any

from kehu.customfields.models import FieldDefinition, FieldType
from kehu.customfields.queries import active_fields

MARK = "x-custom-fields"


def value_schema(definition: FieldDefinition) -> dict[str, Any]:
    values = definition.choice_values()
    schemas: dict[str, dict[str, Any]] = {
        FieldType.TEXT: {"type": "string", "maxLength": 1000},
        FieldType.NUMBER: {"type": "number"},
        FieldType.DATE: {"type": "string", "format": "date"},
        FieldType.CHOICE: {"type": "string", "enum": values},
        FieldType.MULTI_CHOICE: {"type": "array", "items": {"type": "string", "enum": values}, "uniqueItems": True},
        FieldType.BOOLEAN: {"type": "boolean"},
    }
    schema = dict(schemas[FieldType(definition.type)])
    labels = " / ".join(label for label in (definition.label_zh, definition.label_en) if label)
    schema["title"] = definition.label_en or definition.label_zh
    description = labels + (f". {definition.help_text}" if definition.help_text else "")
    if definition.is_choice:
        description += ". Choices: " + ", ".join(
            f"`{c['value']}` ({' / '.join(x for x in (c.get('zh'), c.get('en')) if x)})" for c in definition.choices
        )
    if definition.is_personal:
        description += ". Personal data: `****` unless unmasked."
    schema["description"] = description
    return schema


def _object_schema(entity: str, definitions: list[FieldDefinition], *, request: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for d in definitions:
        value = value_schema(d)
        if request:
            # null or "" clears a value.
            value = {"anyOf": [value, {"type": "null"}], "title": value["title"], "description": value["description"]}
        elif d.is_personal:
            value = {"anyOf": [value, {"type": "string", "const": "****"}], "title": value["title"],
                     "description": value["description"]}  # fmt: skip
        properties[d.key] = value
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False, MARK: entity}
    required = [d.key for d in definitions if d.required]
    if required:
        schema["x-required-on-create"] = required
    return schema


def describe_custom_fields(schema: dict[str, Any]) -> dict[str, Any]:
    """Fill every `custom` property marked with `x-custom-fields` with the fields defined now."""
    components = schema.get("components", {}).get("schemas", {})
    cache: dict[str, list[FieldDefinition]] = {}
    for component in components.values():
        properties = component.get("properties") or {}
        for name, prop in list(properties.items()):
            entity = prop.get(MARK) if isinstance(prop, dict) else None
            if not entity:
                continue
            if entity not in cache:
                cache[entity] = active_fields(entity)
            is_request = "anyOf" in prop or prop.get("default", {}) is None
            described = _object_schema(entity, cache[entity], request=is_request)
            replacement: dict[str, Any] = {
                "title": prop.get("title", "Custom"),
                "description": prop.get("description", ""),
                MARK: entity,
            }
            if is_request:
                replacement["anyOf"] = [described, {"type": "null"}]
                replacement["default"] = None
            else:
                replacement.update(copy.deepcopy(described))
            properties[name] = replacement
    return schema
