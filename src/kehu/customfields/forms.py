"""Forms: the field-definition form of the settings pages, and the custom-field inputs added to
record forms (customer profile). Forms only parse; `kehu.customfields.values` validates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customfields.actions import FieldInput
from kehu.customfields.models import FieldDefinition, FieldType
from kehu.customfields.registry import entities
from kehu.customfields.values import display_value

FORM_PREFIX = "custom."


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def choices_to_text(choices: list[dict[str, str]]) -> str:
    return "\n".join(" | ".join([c["value"], c.get("zh", ""), c.get("en", "")]).rstrip(" |") for c in choices)


def text_to_choices(text: str) -> list[dict[str, str]]:
    """`value | 中文 | English`, one choice per line (labels optional)."""
    choices = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        parts += [""] * (3 - len(parts))
        choices.append({"value": parts[0], "zh": parts[1], "en": parts[2]})
    return choices


class FieldDefinitionForm(forms.Form):
    entity = forms.ChoiceField(label=_("Record type"))
    label_zh = forms.CharField(label=_("Label (Chinese)"), max_length=100, required=False)
    label_en = forms.CharField(label=_("Label (English)"), max_length=100, required=False)
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        help_text=_("Used in imports, filters and the API, e.g. vip_level. Cannot change once records hold values."),
    )
    type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "gold | 金卡 | Gold\nsilver | 银卡 | Silver"}),
        help_text=_("For choice fields: one per line, “value | 中文 | English”. Values are stored and never change."),
    )
    help_text = forms.CharField(label=_("Help text"), max_length=300, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    show_in_list = forms.BooleanField(label=_("Show in the list by default"), required=False)
    is_personal = forms.BooleanField(
        label=_("Personal data"),
        required=False,
        help_text=_("Masked like phone numbers for roles that may not unmask personal data."),
    )

    def __init__(self, *args: Any, instance: FieldDefinition | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "entity": instance.entity, "label_zh": instance.label_zh, "label_en": instance.label_en,
                "key": instance.key, "type": instance.type, "choices": choices_to_text(instance.choices),
                "help_text": instance.help_text, "required": instance.required,
                "show_in_list": instance.show_in_list, "is_personal": instance.is_personal,
            }  # fmt: skip
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.fields["entity"].choices = [(e.key, e.label) for e in entities()]
        if instance is not None:
            self.fields["entity"].disabled = True
        self.fields["key"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "pattern": "[a-z][a-z0-9_]*"}
        )
        _style(self)

    def field_input(self) -> FieldInput:
        data = self.cleaned_data
        return FieldInput(
            entity=data["entity"], key=data["key"], label_zh=data.get("label_zh") or "",
            label_en=data.get("label_en") or "", type=data["type"], choices=text_to_choices(data.get("choices") or ""),
            required=bool(data.get("required")), help_text=data.get("help_text") or "",
            show_in_list=bool(data.get("show_in_list")), is_personal=bool(data.get("is_personal")),
        )  # fmt: skip


# --- custom values on record forms ------------------------------------------------------------


def form_field(definition: FieldDefinition) -> forms.Field:
    """An input for one custom field. Every input is optional and plain text at this level: the
    values module decides what is valid, so the form, imports and the API agree."""
    common = {"label": definition.label, "required": False, "help_text": definition.help_text}
    t = definition.type
    if t == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *_choice_pairs(definition)], **common)
    if t == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=_choice_pairs(definition), widget=forms.SelectMultiple(attrs={"size": 4}), **common
        )
    if t == FieldType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))], **common)
    if t == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), max_length=40, **common)
    if t == FieldType.NUMBER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), max_length=40, **common)
    return forms.CharField(max_length=1000, **common)


def _choice_pairs(definition: FieldDefinition) -> list[tuple[str, str]]:
    return [(c["value"], definition.choice_label(c["value"])) for c in definition.choices]


def initial_value(definition: FieldDefinition, value: Any) -> Any:
    if value is None:
        return None
    if definition.type == FieldType.BOOLEAN:
        return "yes" if value else "no"
    return value


def add_custom_fields(
    form: forms.Form, definitions: list[FieldDefinition], stored: dict[str, Any] | None, *, may_see_personal: bool
) -> None:
    """Add an input per definition to `form` (named `custom.<key>`, so domain errors keyed the
    same land on them). Personal fields are left out for users who may not see them in full."""
    form.custom_names = []  # type: ignore[attr-defined]
    for d in definitions:
        if d.is_personal and not may_see_personal:
            continue
        name = FORM_PREFIX + d.key
        form.fields[name] = form_field(d)
        widget = form.fields[name].widget
        widget.attrs.setdefault("class", "form-select" if isinstance(widget, forms.Select) else "form-control")
        if stored is not None and d.key in stored and not form.is_bound:
            form.initial[name] = initial_value(d, stored[d.key])
        form.custom_names.append(name)  # type: ignore[attr-defined]


def custom_input(form: forms.Form) -> dict[str, Any]:
    """{key: raw value} of the custom inputs on a valid form (empty input clears the value)."""
    out: dict[str, Any] = {}
    for name in getattr(form, "custom_names", []):
        out[name.removeprefix(FORM_PREFIX)] = form.cleaned_data.get(name)
    return out


def display_rows(definitions: list[FieldDefinition], stored: dict[str, Any], *, unmasked: bool) -> list[dict[str, Any]]:
    """(label, text) of each field for a record's page; personal values masked unless `unmasked`."""
    rows = []
    for d in definitions:
        text = display_value(d, (stored or {}).get(d.key))
        if text and d.is_personal and not unmasked:
            text = "****"
        rows.append({"key": d.key, "label": d.label, "value": text, "personal": d.is_personal})
    return rows


def custom_field_rows(
    record: Any,
    *,
    personal: bool,
    unmasked: bool,
    entity: str = "customer",
    definitions: list[FieldDefinition] | None = None,
) -> list[dict[str, Any]]:
    """A record's active custom fields for its page: the personal ones (shown with identities,
    revealed with them) or the others. Pass `definitions` to read them once per page."""
    from kehu.customfields.queries import active_fields

    defs = definitions if definitions is not None else active_fields(entity)
    definitions = [d for d in defs if d.is_personal == personal]
    return display_rows(definitions, record.custom or {}, unmasked=unmasked)
