"""How suggestions and records are shown: readable reasons, and each customer's summary with
phone, email and address masked (the queue never unmasks)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kehu.customers.models import Customer, IdentityKind
from kehu.customers.presenters import address_display, identity_display


def reason_text(reason: dict[str, Any]) -> str:
    code = reason.get("code", "")
    if code == "identity_same":
        kind = reason.get("kind", "")
        label = IdentityKind(kind).label if kind in IdentityKind.values else kind
        return _("Same %(identity)s, written differently") % {"identity": label}
    if code == "name_same":
        return _("Same name")
    if code == "name_sounds_same":
        return _("Names sound the same (pinyin)")
    if code == "name_similar":
        return _("Names %(percent)s%% alike") % {"percent": reason.get("percent", 0)}
    if code == "birthday_same":
        return _("Same birthday")
    if code == "birthday_differs":
        return _("Different birthdays")
    if code == "address_same":
        return _("Same street address")
    if code == "address_similar":
        return _("Street addresses %(percent)s%% alike") % {"percent": reason.get("percent", 0)}
    if code == "district_same":
        return _("Same district")
    if code == "gender_differs":
        return _("Different genders")
    return code


NEGATIVE = {"birthday_differs", "gender_differs"}


def reasons_display(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"text": reason_text(r), "negative": r.get("code") in NEGATIVE} for r in reasons]


def customer_summary(customer: Customer) -> dict[str, Any]:
    """A record as the queue and the compare page show it (identities, addresses prefetched)."""
    identities = list(customer.identities.all())
    addresses = list(customer.addresses.all())
    return {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.get_kind_display(),
        "gender": customer.get_gender_display() if customer.gender else "",
        "birthday": customer.birthday,
        "created_at": customer.created_at,
        "order_count": customer.order_count,
        "total_spent": customer.total_spent,
        "identities": [
            {"kind": i.kind, "label": i.get_kind_display(), "value": identity_display(i, unmasked=False)}
            for i in identities
        ],
        "addresses": [address_display(a, unmasked=False) for a in addresses],
    }
