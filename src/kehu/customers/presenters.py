"""How customer data is shown to a given user: personal fields masked unless the user may
unmask them *and* asked to (which is audited). Pages, the API and exports all go through here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kehu.accounts import policy
from kehu.customers.models import PERSONAL_IDENTITY_KINDS, Address, Customer, CustomerIdentity
from kehu.privacy.masking import mask_identity, mask_text

if TYPE_CHECKING:
    from kehu.accounts.models import User


def may_unmask(user: User) -> bool:
    return policy.can(user, policy.UNMASK)


def identity_display(identity: CustomerIdentity, *, unmasked: bool) -> str:
    if unmasked or identity.kind not in PERSONAL_IDENTITY_KINDS:
        return identity.value
    return mask_identity(identity.kind, identity.value)


def address_display(address: Address, *, unmasked: bool) -> dict[str, str]:
    return {
        "label": address.label,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "detail": address.detail if unmasked else mask_text(address.detail),
        "recipient": address.recipient if unmasked else mask_text(address.recipient, keep=1),
        "postal_code": address.postal_code,
    }


def primary_identities(customer: Customer) -> dict[str, CustomerIdentity]:
    """The first phone and email of a customer, from prefetched identities."""
    found: dict[str, CustomerIdentity] = {}
    for identity in customer.identities.all():
        found.setdefault(identity.kind, identity)
    return found


def customer_row(customer: Customer, *, unmasked: bool = False) -> dict[str, Any]:
    """A customer as one flat row for lists, the API and exports (identities prefetched)."""
    ids = primary_identities(customer)
    phone = ids.get("phone")
    email = ids.get("email")
    return {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "phone": identity_display(phone, unmasked=unmasked) if phone else "",
        "email": identity_display(email, unmasked=unmasked) if email else "",
        "home_store": customer.home_store.name if customer.home_store_id and customer.home_store else "",
        "order_count": customer.order_count,
        "total_spent": customer.total_spent,
        "last_order_at": customer.last_order_at,
        "created_at": customer.created_at,
    }
