"""Forms of the order pages: the order list's filters (also used by the order export)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kehu.accounts.models import User


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    store: int | None = None
    channel: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    number: str | None = None


class OrderFilterForm(forms.Form):
    """Status, store, channel, a date range (local dates) and an order-number prefix."""

    number = forms.CharField(label=_("Order number"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    channel = forms.TypedChoiceField(label=_("Channel"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from kehu.commerce.models import OrderStatus
        from kehu.customers.forms import channel_choices, store_choices

        self.fields["status"].choices = [("", _("All statuses")), *OrderStatus.choices]
        self.fields["store"].choices = store_choices(user, blank=str(_("All stores")))
        self.fields["channel"].choices = channel_choices(blank=str(_("All channels")))
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def cleaned(self) -> dict[str, Any]:
        """The valid filters; an invalid value is dropped (and shown as a field error on the page)
        rather than failing the list or the export."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in self.fields if name not in self.errors and data.get(name)}

    def as_filters(self) -> OrderFilters:
        values = self.cleaned()
        if values.get("number"):
            values["number"] = values["number"].strip()
        return OrderFilters(**values)
