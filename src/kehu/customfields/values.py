"""The one place custom values are validated and coerced, for the UI form, imports and the API.

Stored forms (JSON-friendly, the same whatever the path): text → string; number → JSON number
(int when whole, else float; at most 15 significant digits so the value round-trips exactly);
date → ISO `YYYY-MM-DD` string; choice → the choice's stable value; multi-choice → list of
values in the definition's order; yes/no → true/false. An empty value means "not set" and the
key is removed. Errors are `ValidationError`s keyed `custom.<key>`."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kehu.customfields.models import FieldDefinition, FieldType

TEXT_MAX = 1000
NUMBER_DIGITS = 15
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "是", "有", "对", "√", "✓", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "否", "无", "不是", "×", "✗", "f"})
_CHINESE_DATE = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$")
_LIST_SPLIT = re.compile(r"[,，;；、|]")

Unset = object()  # returned for empty input: the key is removed


def error_key(definition: FieldDefinition) -> str:
    return f"custom.{definition.key}"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _is_empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, list | tuple) and not raw)


def _text(definition: FieldDefinition, raw: object) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_("Enter text."))
    value = unicodedata.normalize("NFC", raw).strip()
    if len(value) > TEXT_MAX:
        raise ValidationError(_("At most %(n)d characters.") % {"n": TEXT_MAX})
    return value


def _number(definition: FieldDefinition, raw: object) -> int | float:
    if isinstance(raw, bool):
        raise ValidationError(_("Enter a number."))
    if isinstance(raw, int | float | Decimal):
        text = str(raw)
    elif isinstance(raw, str):
        text = _fold(raw).replace(",", "").replace("，", "")
    else:
        raise ValidationError(_("Enter a number."))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("Enter a number, e.g. 12 or 3.5.")) from None
    if not number.is_finite():
        raise ValidationError(_("Enter a number, e.g. 12 or 3.5."))
    number = number.normalize()
    if len(number.as_tuple().digits) > NUMBER_DIGITS:
        raise ValidationError(_("A number has at most %(n)d significant digits.") % {"n": NUMBER_DIGITS})
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _date(definition: FieldDefinition, raw: object) -> str:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if not isinstance(raw, str):
        raise ValidationError(_("Enter a date as YYYY-MM-DD."))
    text = _fold(raw)
    match = _CHINESE_DATE.match(text)
    try:
        if match:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        return dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in " T" else text).isoformat()
    except ValueError:
        raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from None


def _match_choice(definition: FieldDefinition, raw: object) -> str:
    text = _fold(str(raw))
    folded = text.casefold()
    for choice in definition.choices:
        labels = (choice["value"], choice.get("zh", ""), choice.get("en", ""))
        if any(label and _fold(label).casefold() == folded for label in labels):
            return str(choice["value"])
    allowed = ", ".join(definition.choice_values())
    raise ValidationError(_("Unknown choice “%(value)s” (allowed: %(allowed)s).") % {"value": text, "allowed": allowed})


def _choice(definition: FieldDefinition, raw: object) -> str:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValidationError(_("Give one choice."))
    return _match_choice(definition, raw)


def _multi_choice(definition: FieldDefinition, raw: object) -> list[str]:
    if isinstance(raw, str):
        items: list[object] = [p for p in _LIST_SPLIT.split(raw) if p.strip()]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise ValidationError(_("Give a list of choices."))
    picked = {_match_choice(definition, item) for item in items if not _is_empty(item)}
    return [v for v in definition.choice_values() if v in picked]


def _boolean(definition: FieldDefinition, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    word = _fold(str(raw)).casefold() if isinstance(raw, str | int) else ""
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("Enter yes or no."))


_COERCE = {
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.DATE: _date,
    FieldType.CHOICE: _choice,
    FieldType.MULTI_CHOICE: _multi_choice,
    FieldType.BOOLEAN: _boolean,
}


def coerce_value(definition: FieldDefinition, raw: object) -> Any:
    """One value in its stored form, or `Unset` for an empty one. Raises ValidationError with a
    message naming what is wrong (not yet keyed by field)."""
    if _is_empty(raw):
        return Unset
    value = _COERCE[FieldType(definition.type)](definition, raw)
    if _is_empty(value):
        return Unset
    return value


def active_definitions(entity: str) -> list[FieldDefinition]:
    return list(FieldDefinition.objects.filter(entity=entity, is_active=True).order_by("position", "pk"))


def clean_values(
    entity: str,
    incoming: object,
    *,
    existing: Mapping[str, Any] | None = None,
    definitions: Iterable[FieldDefinition] | None = None,
    creating: bool = False,
) -> dict[str, Any]:
    """Merge `incoming` ({key: raw value}; a key sent empty or null is removed) into `existing`
    and return the new stored dict. Unknown and archived keys are refused. A required field must
    be given when `creating` and may never be emptied; records stored before a field became
    required are not refused for lacking it. Values of archived fields are kept untouched."""
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, Mapping):
        raise ValidationError({"custom": [_("Custom fields must be an object of field keys to values.")]})
    defs = list(definitions) if definitions is not None else active_definitions(entity)
    by_key = {d.key: d for d in defs}
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    archived: set[str] | None = None
    for key, raw in incoming.items():
        definition = by_key.get(str(key))
        if definition is None:
            if archived is None:
                archived = set(
                    FieldDefinition.objects.filter(entity=entity, is_active=False).values_list("key", flat=True)
                )
            message = (
                _("The field “%(key)s” is archived and no longer accepts values.")
                if key in archived
                else _("Unknown custom field “%(key)s”.")
            )
            errors[f"custom.{key}"] = [message % {"key": key}]
            continue
        try:
            value = coerce_value(definition, raw)
        except ValidationError as exc:
            errors[error_key(definition)] = exc.messages
            continue
        if value is Unset:
            result.pop(definition.key, None)
        else:
            result[definition.key] = value
    for definition in defs:
        asked = creating or definition.key in incoming
        if definition.required and asked and definition.key not in result and error_key(definition) not in errors:
            errors[error_key(definition)] = [_("%(label)s is required.") % {"label": definition.label}]
    if errors:
        raise ValidationError(errors)
    return result


def display_value(definition: FieldDefinition, value: Any) -> str:
    """A stored value as text for pages and exports (choice labels in the active language)."""
    if value is None or value == "" or value == []:
        return ""
    if definition.type == FieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if definition.type == FieldType.CHOICE:
        return definition.choice_label(str(value))
    if definition.type == FieldType.MULTI_CHOICE and isinstance(value, list):
        return "、".join(definition.choice_label(str(v)) for v in value)
    return str(value)


def check_record_custom(
    entity: str, data: Mapping[str, Any], existing: Mapping[str, Any] | None, *, creating: bool
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """For a record's create/update path: the new `custom` dict (None when `data` has no
    "custom" and nothing needs checking) and the errors, so callers can merge them with their own."""
    if "custom" not in data and not creating:
        return None, {}
    try:
        return clean_values(entity, data.get("custom"), existing=existing, creating=creating), {}
    except ValidationError as exc:
        return None, exc.message_dict


def clean_patch(entity: str, incoming: object) -> dict[str, Any]:
    """Validated changes to apply to a stored `custom` dict: {key: value}, None meaning "remove".
    For paths that validate before they load the record (order ingestion)."""
    if incoming is None:
        return {}
    cleaned = clean_values(entity, incoming, existing={})
    assert isinstance(incoming, Mapping)
    return {str(k): cleaned.get(str(k)) for k in incoming}


def apply_patch(stored: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(stored or {})
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
