"""Turn domain objects into the API's response shapes; personal data goes through
`kehu.customers.presenters`, so masking is the same as in pages and exports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from kehu.customers.presenters import address_display, customer_row, identity_display
from kehu.customfields.presenters import present_custom

if TYPE_CHECKING:
    from kehu.commerce.models import Order
    from kehu.customers.models import Customer
    from kehu.customers.queries import Customer360


CENT = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    """Always two decimals: SQLite's SUM loses the scale (`100` for 100.00)."""
    return None if value is None else str(Decimal(value).quantize(CENT))


def local(value: dt.datetime | None) -> dt.datetime | None:
    """Times leave the API in the company's time zone (Asia/Shanghai), offset included."""
    return None if value is None else timezone.localtime(value)


def row(customer: Customer, *, unmasked: bool) -> dict[str, Any]:
    """A list row (identities prefetched)."""
    data = customer_row(customer, unmasked=unmasked)
    data["total_spent"] = money(data["total_spent"])
    data["last_order_at"] = local(data["last_order_at"])
    data["created_at"] = local(data["created_at"])
    return data


def customer_detail(customer: Customer, *, unmasked: bool) -> dict[str, Any]:
    """A customer's profile and identities (identities and tags prefetched)."""
    return {
        **row(customer, unmasked=unmasked),
        "party_type": customer.party_type,
        "gender": customer.gender,
        "birthday": customer.birthday,
        "home_store_id": customer.home_store_id,
        "preferred_channel_id": customer.preferred_channel_id,
        "first_order_at": local(customer.first_order_at),
        "average_order_value": money(customer.average_order_value),
        "updated_at": local(customer.updated_at),
        "identities": [
            {
                "id": identity.pk,
                "kind": identity.kind,
                "value": identity_display(identity, unmasked=unmasked),
                "is_primary": identity.is_primary,
                "verified": identity.verified,
            }
            for identity in customer.identities.all()
        ],
        "tags": [tag.name for tag in customer.tags.all()],
        "custom": present_custom("customer", customer.custom, unmasked=unmasked),
    }


def order_summary(order: Order, custom_fields: list[Any] | None = None) -> dict[str, Any]:
    """An order without its lines (channel and store selected). Pass `custom_fields`
    (`order_custom_fields()`) when presenting many orders, to read the definitions once."""
    return {
        "id": order.pk,
        "number": order.number,
        "source_system": order.source_system,
        "source_id": order.source_id,
        "customer_id": order.customer_id,
        "channel": order.channel.code,
        "channel_name": order.channel.name,
        "store": order.store.code if order.store else None,
        "store_name": order.store.name if order.store else None,
        "status": order.status,
        "ordered_at": local(order.ordered_at),
        "currency": order.currency,
        "total_amount": money(order.total_amount),
        "discount_amount": money(order.discount_amount),
        "paid_amount": money(order.paid_amount),
        "refunded_amount": money(order.refunded_amount),
        # Orders have no unmask option: personal custom values are always masked here.
        "custom": present_custom("order", order.custom, unmasked=False, definitions=custom_fields),
    }


def order_custom_fields() -> list[Any]:
    from kehu.customfields.queries import active_fields

    return active_fields("order")


def order_detail(order: Order, custom_fields: list[Any] | None = None) -> dict[str, Any]:
    """An order with its lines (lines prefetched)."""
    return {
        **order_summary(order, custom_fields),
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": money(line.unit_price),
                "amount": money(line.amount),
            }
            for line in order.lines.all()
        ],
    }


def customer_360(view: Customer360, *, unmasked: bool) -> dict[str, Any]:
    customer = view.customer
    order_fields = order_custom_fields()
    return {
        "customer": customer_detail(customer, unmasked=unmasked),
        "addresses": [
            {"id": a.pk, "is_default": a.is_default, **address_display(a, unmasked=unmasked)} for a in view.addresses
        ],
        "consents": [
            {
                "channel": c.channel,
                "purpose": c.purpose,
                "status": c.status,
                "source": c.source,
                "notice_version": c.notice_version,
                "updated_at": local(c.updated_at),
            }
            for c in view.consents
        ],
        "headline": {
            "total_spent": money(customer.total_spent),
            "order_count": customer.order_count,
            "average_order_value": money(customer.average_order_value),
            "first_order_at": local(customer.first_order_at),
            "last_order_at": local(customer.last_order_at),
            "returns_count": view.returns_count,
            "channels_used": [
                {
                    "channel": c["channel__name"],
                    "kind": c["channel__kind"],
                    "orders": c["orders"],
                    "spent": money(c["spent"] or Decimal("0.00")),
                }
                for c in view.channels_used
            ],
            "favourite_categories": [
                {
                    "name": c["product__category__name"],
                    "name_en": c["product__category__name_en"],
                    "quantity": c["quantity"] or 0,
                    "spent": money(c["spent"] or Decimal("0.00")),
                }
                for c in view.favourite_categories
            ],
        },
        "recent_orders": [order_summary(o, order_fields) for o in view.orders],
        "timeline": [
            {
                "kind": i.kind,
                "occurred_at": local(i.occurred_at),
                "channel": i.channel.name if i.channel else None,
                "title": i.title,
                "detail": i.detail,
                "ref_type": i.ref_type,
                "ref_id": i.ref_id,
            }
            for i in view.timeline
        ],
        "notes": [
            {
                "id": n.pk,
                "author": n.author.get_username() if n.author else "",
                "body": n.body,
                "created_at": local(n.created_at),
            }
            for n in view.notes
        ],
    }
