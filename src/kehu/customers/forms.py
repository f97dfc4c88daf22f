"""Forms of the customer pages. They parse and render; the domain's `check_*` functions validate
the business rules, and their field errors are put back on the form."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy
from kehu.customers.models import CustomerKind, Gender, PartyType, Tag
from kehu.customers.queries import SORTS, CustomerFilters

if TYPE_CHECKING:
    from kehu.accounts.models import User


def store_choices(user: User, *, blank: str) -> list[tuple[Any, str]]:
    """Stores a user may pick: a store manager's own stores, everyone else's all active stores."""
    from kehu.commerce.models import Store

    stores = Store.objects.filter(is_active=True)
    if policy.is_store_scoped(user):
        stores = stores.filter(pk__in=user.stores.values("pk"))
    return [("", blank), *stores.values_list("pk", "name")]


def channel_choices(*, blank: str) -> list[tuple[Any, str]]:
    from kehu.commerce.models import Channel

    return [("", blank), *Channel.objects.values_list("pk", "name")]


def add_domain_errors(form: forms.Form, error: ValidationError) -> None:
    """Attach a domain ValidationError to the form, field by field (unknown fields → form-wide)."""
    if hasattr(error, "error_dict"):
        for field_name, messages in error.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


SORT_LABELS = {
    "recent": _("Newest"),
    "spent": _("Total spent"),
    "last_order": _("Last purchase"),
    "orders": _("Orders"),
}


GRADE_CHOICES = [("", ""), ("A", "A"), ("B", "B"), ("C", "C")]


class CustomerFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    store = forms.TypedChoiceField(label=_("Home store"), required=False, coerce=int, empty_value=None)
    tag = forms.TypedChoiceField(label=_("Tag"), required=False, coerce=int, empty_value=None)
    min_spent = forms.DecimalField(
        label=_("Spent at least"), required=False, min_value=Decimal(0), max_digits=14, decimal_places=2
    )
    has_ordered = forms.TypedChoiceField(
        label=_("Has ordered"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        empty_value=None,
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=list(SORT_LABELS.items()))
    # Score filters, set by drilling down from the analytics pages (kept as hidden fields).
    r_grade = forms.ChoiceField(required=False, choices=GRADE_CHOICES, widget=forms.HiddenInput)
    f_grade = forms.ChoiceField(required=False, choices=GRADE_CHOICES, widget=forms.HiddenInput)
    m_grade = forms.ChoiceField(required=False, choices=GRADE_CHOICES, widget=forms.HiddenInput)
    rfm_class = forms.RegexField(required=False, regex=r"^[ABC]{3}$", widget=forms.HiddenInput)
    tier = forms.ChoiceField(
        required=False,
        choices=[("", ""), ("gold", "gold"), ("silver", "silver"), ("bronze", "bronze")],
        widget=forms.HiddenInput,
    )
    stage = forms.ChoiceField(
        required=False,
        choices=[("", "")] + [(s, s) for s in ("prospect", "new", "development", "stability", "decline", "churned")],
        widget=forms.HiddenInput,
    )
    at_risk = forms.BooleanField(required=False, widget=forms.HiddenInput)

    SCORE_FIELDS = ("r_grade", "f_grade", "m_grade", "rfm_class", "tier", "stage", "at_risk")

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *CustomerKind.choices]
        self.fields["store"].choices = store_choices(user, blank=str(_("All stores")))
        self.fields["tag"].choices = [("", _("All tags")), *Tag.objects.values_list("pk", "name")]
        from kehu.customfields.queries import active_fields, parse_filters

        # Custom-field filters are read from the raw query string (`cf_<key>…`), field by field.
        # Personal fields are not offered to roles that may not see them (no probing by filtering).
        may_unmask = policy.can(user, policy.UNMASK)
        self.all_custom_definitions = active_fields("customer")
        self.custom_definitions = [d for d in self.all_custom_definitions if may_unmask or not d.is_personal]
        self.custom_filters, self.custom_errors = parse_filters("customer", self.data, self.custom_definitions)

    def as_filters(self) -> CustomerFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return CustomerFilters(
            custom=self.custom_filters,
            kind=data.get("kind") or "",
            store_id=data.get("store"),
            tag_id=data.get("tag"),
            min_spent=data.get("min_spent"),
            has_ordered=data.get("has_ordered"),
            **{name: data.get(name) or ("" if name != "at_risk" else False) for name in self.SCORE_FIELDS},
        )

    def score_filters(self) -> list[tuple[str, Any]]:
        """The analytics filters in force, for the list page to show and let users clear."""
        data = self.cleaned_data if self.is_valid() else {}
        return [(name, data[name]) for name in self.SCORE_FIELDS if data.get(name)]

    def chosen_sort(self) -> str:
        value = self.cleaned_data.get("sort") if self.is_valid() else ""
        return value if value in SORTS else "recent"


class ProfileForm(forms.Form):
    """The profile fields staff may edit (`kehu.customers.actions.EDITABLE_FIELDS`)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    party_type = forms.ChoiceField(label=_("Party type"), choices=PartyType.choices)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, required=False)
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    home_store_id = forms.TypedChoiceField(label=_("Home store"), required=False, coerce=int, empty_value=None)
    preferred_channel_id = forms.TypedChoiceField(
        label=_("Preferred channel"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, user: User, *args: Any, custom_definitions: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home_store_id"].choices = store_choices(user, blank="—")
        self.fields["preferred_channel_id"].choices = channel_choices(blank="—")
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
        from kehu.customfields.forms import add_custom_fields
        from kehu.customfields.queries import active_fields

        stored = self.initial.get("custom")
        definitions = custom_definitions if custom_definitions is not None else active_fields("customer")
        add_custom_fields(self, definitions, stored, may_see_personal=policy.can(user, policy.UNMASK))

    def domain_data(self) -> dict[str, Any]:
        """The cleaned values in the shape `check_customer_input` expects (custom fields under "custom")."""
        from kehu.customfields.forms import custom_input

        custom_names = set(getattr(self, "custom_names", []))
        data = {k: v for k, v in self.cleaned_data.items() if k in self.fields and k not in custom_names}
        if custom_names:
            data["custom"] = custom_input(self)
        return data

    def custom_fields(self) -> list[Any]:
        return [self[name] for name in getattr(self, "custom_names", [])]


class NewCustomerForm(ProfileForm):
    phone = forms.CharField(label=_("Mobile phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    member_card = forms.CharField(label=_("Member card"), max_length=64, required=False)

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        self.fields["email"].widget.attrs.update({"inputmode": "email", "autocomplete": "off"})


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        max_length=5000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class BulkTagForm(forms.Form):
    customer = forms.TypedMultipleChoiceField(coerce=int, required=True)
    tag = forms.CharField(label=_("Tag"), max_length=50, strip=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any integer is accepted here; the action keeps only customers the user may see.
        self.fields["customer"].valid_value = lambda value: str(value).isdigit() and len(str(value)) < 19  # type: ignore[attr-defined]
