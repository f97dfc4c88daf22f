"""Template filters and tags shared by every page: money, localised names, badges, icons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()

KIND_COLOURS = {
    "consumer": "blue",
    "lead": "secondary",
    "partner_customer": "purple",
    "distributor": "orange",
    "b2b": "teal",
}

ORDER_STATUS_COLOURS = {
    "pending": "yellow",
    "paid": "blue",
    "shipped": "cyan",
    "completed": "green",
    "cancelled": "secondary",
    "partially_refunded": "orange",
    "refunded": "red",
}

SHIPMENT_STATUS_COLOURS = {
    "pending": "secondary",
    "in_transit": "blue",
    "out_for_delivery": "cyan",
    "delivered": "green",
    "exception": "red",
}

INTERACTION_ICONS = {
    "order": ("shopping-bag", "green"),
    "return": ("arrow-back-up", "orange"),
    "shipment": ("truck-delivery", "cyan"),
    "ticket": ("lifebuoy", "red"),
    "call": ("phone-call", "purple"),
    "message": ("message-circle", "blue"),
    "note": ("notes", "yellow"),
    "registration": ("user-plus", "teal"),
    "merge": ("git-merge", "indigo"),
}

IDENTITY_ICONS = {
    "phone": "device-mobile",
    "email": "mail",
    "member_card": "id-badge-2",
    "wechat_openid": "brand-wechat",
    "wechat_unionid": "brand-wechat",
    "pos_id": "building-store",
}


@register.filter
def money(value: Any) -> str:
    """`1234.5` → `¥1,234.50`; empty → an em dash."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def percent(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f}%"


def is_english() -> bool:
    return (get_language() or "").startswith("en")


@register.filter
def minutes(value: dt.timedelta | None) -> int:
    """A duration in whole minutes, rounded up (for "try again in N minutes")."""
    if not value:
        return 0
    return max(1, -int(-value.total_seconds() // 60))


@register.filter
def localname(obj: Any, field: str = "name") -> str:
    """The English name (`name_en`) of a category, channel or region when the page is in English
    and one is recorded; the Chinese `name` otherwise. Accepts objects and `values()` dicts."""
    if obj is None:
        return ""
    if isinstance(obj, dict):
        zh, en = obj.get(field), obj.get(f"{field}_en")
    else:
        zh, en = getattr(obj, field, ""), getattr(obj, f"{field}_en", "")
    return str(en if is_english() and en else zh or "")


@register.filter
def age(birthday: dt.date | None) -> int | None:
    if not birthday:
        return None
    today = timezone.localdate()
    return today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))


@register.filter
def kind_colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, "secondary")


@register.filter
def order_status_colour(status: str) -> str:
    return ORDER_STATUS_COLOURS.get(status, "secondary")


@register.filter
def shipment_status_colour(status: str) -> str:
    return SHIPMENT_STATUS_COLOURS.get(status, "secondary")


@register.filter
def interaction_icon(kind: str) -> str:
    return INTERACTION_ICONS.get(kind, ("point", "secondary"))[0]


@register.filter
def interaction_colour(kind: str) -> str:
    return INTERACTION_ICONS.get(kind, ("point", "secondary"))[1]


@register.filter
def identity_icon(kind: str) -> str:
    return IDENTITY_ICONS.get(kind, "id")


@register.filter
def choice_label(value: str, choices_name: str) -> str:
    """The translated label of a choice value: `{{ c.kind|choice_label:"CustomerKind" }}`."""
    from kehu.commerce.models import ChannelKind, OrderStatus, ShipmentStatus
    from kehu.customers.models import CustomerKind, Gender, IdentityKind, InteractionKind

    enums: dict[str, Any] = {
        "CustomerKind": CustomerKind,
        "Gender": Gender,
        "IdentityKind": IdentityKind,
        "InteractionKind": InteractionKind,
        "ChannelKind": ChannelKind,
        "OrderStatus": OrderStatus,
        "ShipmentStatus": ShipmentStatus,
    }
    enum = enums[choices_name]
    try:
        return str(enum(value).label)
    except ValueError:
        return str(value)


@register.filter
def matched_label(matched_on: str) -> str:
    """What a search hit matched on, in the user's language."""
    labels = {
        "phone": _("Phone"),
        "email": _("Email"),
        "member_card": _("Member card"),
        "pos_id": _("Store POS id"),
        "wechat_openid": _("WeChat"),
        "wechat_unionid": _("WeChat"),
        "order": _("Order number"),
        "name": _("Name"),
    }
    return labels.get(matched_on, matched_on)


@register.filter
def initials(name: str) -> str:
    """Avatar text: the first character of a Chinese name, or two initials of a Latin one."""
    name = (name or "").strip()
    if not name:
        return "?"
    if name.isascii():
        parts = name.split()
        return "".join(p[0] for p in parts[:2]).upper()
    return name[0]


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def widget(bound_field: Any) -> str:
    """Render a form field's widget with Tabler's classes, marked invalid when it has errors."""
    from django import forms

    field_widget = bound_field.field.widget
    if isinstance(field_widget, forms.Select | forms.SelectMultiple):
        css = "form-select"
    elif isinstance(field_widget, forms.CheckboxInput):
        css = "form-check-input"
    else:
        css = "form-control"
    attrs: dict[str, str] = {"class": css + (" is-invalid" if bound_field.errors else "")}
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{bound_field.auto_id}-error"
    return bound_field.as_widget(attrs=attrs)


@register.filter
def field_named(form: Any, name: str) -> Any:
    """A form's bound field by name, for looping over field names in a template."""
    return form[name]


SCORE_FILTER_LABELS = {
    "r_grade": _("R grade"),
    "f_grade": _("F grade"),
    "m_grade": _("M grade"),
    "rfm_class": _("RFM class"),
    "tier": _("Tier"),
    "stage": _("Lifecycle stage"),
    "at_risk": _("Valuable and at risk"),
}


@register.filter
def score_filter_label(name: str) -> str:
    return str(SCORE_FILTER_LABELS.get(name, name))
