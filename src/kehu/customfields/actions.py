"""Defining custom fields: create, change, reorder, archive and restore. `check_*` validates
then calls `do_*`; every change is audited. The rules that protect stored data: a key never
changes once records hold it, a type never changes once records hold values, and a choice still
in use is never removed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from kehu.customfields.models import CHOICE_TYPES, KEY_PATTERN, FieldDefinition, FieldType
from kehu.customfields.queries import field_has_data, records_using_choice
from kehu.customfields.registry import get_entity
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from kehu.accounts.models import User

AUDIT_TYPE = "custom_field"
CHOICE_VALUE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
MAX_CHOICES = 200
MAX_FIELDS_PER_ENTITY = 200


@dataclass
class FieldInput:
    entity: str
    key: str
    label_zh: str
    type: str
    label_en: str = ""
    choices: list[dict[str, str]] = field(default_factory=list)
    required: bool = False
    help_text: str = ""
    show_in_list: bool = False
    is_personal: bool = False


def snapshot(definition: FieldDefinition) -> dict[str, Any]:
    return {
        name: getattr(definition, name)
        for name in ("entity", "key", "label_zh", "label_en", "type", "choices", "required", "help_text",
                     "position", "is_active", "show_in_list", "is_personal")
    }  # fmt: skip


def _clean_choices(raw: list[dict[str, str]], errors: dict[str, list[str]]) -> list[dict[str, str]]:
    choices: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in raw:
        value = str(item.get("value", "")).strip().lower()
        zh = str(item.get("zh", "")).strip()[:100]
        en = str(item.get("en", "")).strip()[:100]
        if not CHOICE_VALUE.match(value):
            errors.setdefault("choices", []).append(
                _("Choice value “%(value)s”: use lower-case letters, digits, - or _ (at most 40).") % {"value": value}
            )
            continue
        if value in seen:
            errors.setdefault("choices", []).append(_("Choice value “%(value)s” appears twice.") % {"value": value})
            continue
        seen.add(value)
        choices.append({"value": value, "zh": zh or en or value, "en": en})
    if len(choices) > MAX_CHOICES:
        errors.setdefault("choices", []).append(_("At most %(n)d choices.") % {"n": MAX_CHOICES})
    return choices


def check_field_input(data: FieldInput, instance: FieldDefinition | None = None) -> FieldInput:
    """Validate a definition (new, or a change of `instance`). Raises ValidationError by field."""
    errors: dict[str, list[str]] = {}
    if get_entity(data.entity) is None:
        errors["entity"] = [_("Unknown record type.")]
    data.key = data.key.strip()
    if not re.match(KEY_PATTERN, data.key):
        errors["key"] = [_("Use lower-case letters, digits and underscores, starting with a letter (at most 40).")]
    data.label_zh = data.label_zh.strip()
    data.label_en = data.label_en.strip()
    if not data.label_zh and not data.label_en:
        errors["label_zh"] = [_("Give a label.")]
    data.label_zh = data.label_zh or data.label_en
    if data.type not in FieldType.values:
        errors["type"] = [_("Unknown field type.")]
    if data.type in CHOICE_TYPES:
        data.choices = _clean_choices(data.choices, errors)
        if not data.choices and "choices" not in errors:
            errors["choices"] = [_("Give at least one choice.")]
    else:
        data.choices = []
    if instance is None:
        if not errors.get("key") and FieldDefinition.objects.filter(entity=data.entity, key=data.key).exists():
            errors["key"] = [_("This record type already has a field with the key “%(key)s”.") % {"key": data.key}]
        if FieldDefinition.objects.filter(entity=data.entity).count() >= MAX_FIELDS_PER_ENTITY:
            errors.setdefault("entity", []).append(
                _("At most %(n)d fields per record type.") % {"n": MAX_FIELDS_PER_ENTITY}
            )
    else:
        _check_change(data, instance, errors)
    if errors:
        raise ValidationError(errors)
    return data


def _check_change(data: FieldInput, instance: FieldDefinition, errors: dict[str, list[str]]) -> None:
    if data.entity != instance.entity:
        errors["entity"] = [_("The record type of a field cannot change.")]
        return
    has_data = None
    if data.key != instance.key:
        has_data = field_has_data(instance)
        if has_data:
            errors["key"] = [_("Records already hold values under this key, so it cannot change.")]
        elif FieldDefinition.objects.filter(entity=data.entity, key=data.key).exclude(pk=instance.pk).exists():
            errors["key"] = [_("This record type already has a field with the key “%(key)s”.") % {"key": data.key}]
    if data.type != instance.type:
        has_data = field_has_data(instance) if has_data is None else has_data
        if has_data:
            errors["type"] = [
                _(
                    "Records already hold values of this field, so its type cannot change: the stored values "
                    "would no longer fit. Archive this field and create a new one instead."
                )
            ]
    if instance.type in CHOICE_TYPES and data.type == instance.type:
        kept = {c["value"] for c in data.choices}
        for value in instance.choice_values():
            if value not in kept and records_using_choice(instance, value):
                errors.setdefault("choices", []).append(
                    _("The choice “%(value)s” is used by stored records and cannot be removed.") % {"value": value}
                )


def check_create_field(actor: User | None, data: FieldInput) -> FieldDefinition:
    return do_create_field(actor, check_field_input(data))


@transaction.atomic
def do_create_field(actor: User | None, data: FieldInput) -> FieldDefinition:
    last = FieldDefinition.objects.filter(entity=data.entity).aggregate(m=Max("position"))["m"]
    definition = FieldDefinition.objects.create(
        entity=data.entity, key=data.key, label_zh=data.label_zh, label_en=data.label_en, type=data.type,
        choices=data.choices, required=data.required, help_text=data.help_text, show_in_list=data.show_in_list,
        is_personal=data.is_personal, position=(last or 0) + 1,
    )  # fmt: skip
    do_audit(actor, AuditAction.CREATE, AUDIT_TYPE, definition.pk, after=snapshot(definition))
    _index_after_commit(definition)
    return definition


def _index_after_commit(definition: FieldDefinition) -> None:
    from kehu.customfields.indexes import ensure_indexes

    pk = definition.pk
    transaction.on_commit(lambda: ensure_indexes(pk))


def check_update_field(actor: User | None, definition: FieldDefinition, data: FieldInput) -> FieldDefinition:
    return do_update_field(actor, definition, check_field_input(data, definition))


@transaction.atomic
def do_update_field(actor: User | None, definition: FieldDefinition, data: FieldInput) -> FieldDefinition:
    before = snapshot(definition)
    for name in ("key", "label_zh", "label_en", "type", "choices", "required", "help_text", "show_in_list",
                 "is_personal"):  # fmt: skip
        setattr(definition, name, getattr(data, name))
    after = snapshot(definition)
    changed = [k for k in after if before[k] != after[k]]
    if changed:
        definition.save()
        if "key" in changed or "type" in changed:
            _index_after_commit(definition)
        do_audit(
            actor, AuditAction.UPDATE, AUDIT_TYPE, definition.pk,
            before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
        )  # fmt: skip
    return definition


@transaction.atomic
def do_set_active(actor: User | None, definition: FieldDefinition, active: bool) -> FieldDefinition:
    """Archive (hide from forms, filters, imports and the API; stored values are kept) or restore."""
    if definition.is_active != active:
        definition.is_active = active
        definition.save(update_fields=["is_active", "updated_at"])
        do_audit(
            actor, AuditAction.UPDATE, AUDIT_TYPE, definition.pk,
            before={"is_active": not active}, after={"is_active": active},
        )  # fmt: skip
    return definition


@transaction.atomic
def do_move_field(actor: User | None, definition: FieldDefinition, step: int) -> None:
    """Move a field one place up (-1) or down (+1) among its record type's fields."""
    siblings = list(
        FieldDefinition.objects.select_for_update().filter(entity=definition.entity).order_by("position", "pk")
    )
    ids = [d.pk for d in siblings]
    index = ids.index(definition.pk)
    target = index + step
    if not 0 <= target < len(ids):
        return
    ids[index], ids[target] = ids[target], ids[index]
    do_reorder(actor, definition.entity, ids, _locked=siblings)


def do_reorder(
    actor: User | None, entity: str, ordered_ids: list[int], *, _locked: list[FieldDefinition] | None = None
) -> None:
    siblings = _locked if _locked is not None else list(FieldDefinition.objects.filter(entity=entity))
    by_id = {d.pk: d for d in siblings}
    order = [pk for pk in ordered_ids if pk in by_id] + [pk for pk in by_id if pk not in ordered_ids]
    before = {d.key: d.position for d in siblings}
    changed = []
    for position, pk in enumerate(order, start=1):
        if by_id[pk].position != position:
            by_id[pk].position = position
            changed.append(by_id[pk])
    if changed:
        FieldDefinition.objects.bulk_update(changed, ["position"])
        do_audit(
            actor, AuditAction.UPDATE, AUDIT_TYPE, entity, before={"order": before},
            after={"order": {by_id[pk].key: by_id[pk].position for pk in order}},
        )  # fmt: skip
