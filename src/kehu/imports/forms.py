"""Forms of the import pages: upload, column mapping (built from the importer's declared
columns, so fields added later appear by themselves) and saving a mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.imports.models import ImportMode
from kehu.imports.queries import Target, import_kinds

KIND_LABELS = {
    "customers": _("Customers"),
    "orders": _("Orders"),
    "products": _("Products"),
    "stores": _("Stores"),
}

# Labels of the built-in importers' fields; a field may bring its own `label` instead.
FIELD_LABELS = {
    "source_system": _("Source system"),
    "source_id": _("Customer number"),
    "name": _("Name"),
    "phone": _("Phone"),
    "email": _("Email"),
    "member_card": _("Member card"),
    "gender": _("Gender"),
    "birthday": _("Birthday"),
    "kind": _("Customer kind"),
    "province": _("Province"),
    "city": _("City"),
    "district": _("District"),
    "address": _("Address"),
    "order_no": _("Order number"),
    "ordered_at": _("Order time"),
    "amount": _("Order amount"),
    "channel": _("Channel"),
    "store": _("Store"),
    "status": _("Order status"),
    "sku": _("SKU"),
    "product_name": _("Product name"),
    "quantity": _("Quantity"),
    "unit_price": _("Unit price"),
    "line_amount": _("Line amount"),
    "line_no": _("Line number"),
    "category": _("Category"),
    "price": _("Price"),
    "cost": _("Cost"),
    "is_active": _("Active"),
    "code": _("Code"),
    "region": _("Region"),
    "opened_on": _("Opened on"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def target_label(target: Target) -> str:
    if target.label != target.name:
        return target.label
    return str(FIELD_LABELS.get(target.name, target.name))


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file contains"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK, as Excel saves it) or Excel .xlsx; the first sheet is read."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    source = forms.CharField(
        label=_("Source system"),
        max_length=40,
        initial="import",
        help_text=_("Where the file comes from (e.g. youzan, pos); rows are matched again by this name."),
    )
    mode = forms.ChoiceField(
        label=_("When rows have errors"),
        choices=[
            (ImportMode.SKIP, _("Skip bad rows: import the good rows and report the bad ones")),
            (ImportMode.ATOMIC, _("All or nothing: import nothing if any row has an error")),
        ],
        initial=ImportMode.SKIP,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, kind_label(k)) for k in import_kinds()]

    def clean_source(self) -> str:
        source: str = self.cleaned_data["source"].strip()
        if not source:
            raise forms.ValidationError(_("Give the source system's name."))
        return source


class MappingForm(forms.Form):
    """One select per file column (`column_<i>`): the target it fills, or ignore it."""

    save_as = forms.CharField(
        label=_("Save this mapping as"),
        max_length=100,
        required=False,
        help_text=_("Optional: a name to reuse this mapping for files of the same shape."),
    )

    def __init__(self, header: list[str], targets: list[Target], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header = header
        self.targets = targets
        choices = [("", _("— ignore this column —"))] + [
            (t.name, f"{target_label(t)}{' *' if t.required else ''}") for t in targets
        ]
        for index, text in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=text or _("(no header)"), choices=choices, required=False
            )

    def column_fields(self) -> list[tuple[int, str, forms.BoundField]]:
        return [(i, text, self[f"column_{i}"]) for i, text in enumerate(self.header)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen: dict[str, str] = {}
        for index, text in enumerate(self.header):
            target = cleaned.get(f"column_{index}") or ""
            if not target:
                continue
            if not text.strip():
                self.add_error(f"column_{index}", _("A column without a header cannot be imported."))
            elif target in chosen.values():
                self.add_error(f"column_{index}", _("Another column already fills this target."))
            elif text in chosen:
                self.add_error(f"column_{index}", _("Two columns have this header; rename one in the file."))
            else:
                chosen[text] = target
        missing = [target_label(t) for t in self.targets if t.required and t.name not in chosen.values()]
        if missing:
            message = _("Choose a column for every required target: %(targets)s.")
            self.add_error(None, message % {"targets": ", ".join(missing)})
        cleaned["mapping"] = {text: chosen.get(text, "") for text in self.header if text.strip()}
        return cleaned
