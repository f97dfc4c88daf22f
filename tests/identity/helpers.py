"""Helpers for the identity tests: rich customers built through the real actions, and a dump of
every table that references customers, to compare before and after a merge and its undo."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from kehu.customers.actions import do_add_note
from kehu.customers.models import Address, Customer, SearchToken, Tag
from kehu.identity.merging import customer_relations
from kehu.identity.rows import attnames, dump_rows
from kehu.privacy.actions import do_set_consent
from tests.factories import make_customer, make_order

_seq = itertools.count(1000)


def unique_phone() -> str:
    return f"+86139{next(_seq):08d}"


def rich_customer(
    name: str = "张伟",
    *,
    birthday: dt.date | None = None,
    orders: int = 1,
    notes: int = 1,
    tags: list[str] | None = None,
    consents: list[tuple[str, str, str, dt.datetime]] | None = None,
    address: dict[str, str] | None = None,
    email: bool = True,
    **extra: Any,
) -> Customer:
    n = next(_seq)
    customer = make_customer(
        name,
        phone=unique_phone(),
        email=f"c{n}@example.com" if email else None,
        birthday=birthday.isoformat() if birthday else None,
        **extra,
    )
    for i in range(orders):
        make_order(customer, amount=f"{100 + 10 * i}.50")
    for i in range(notes):
        do_add_note(None, customer, f"note {i} for {name}")
    for tag in tags or []:
        customer.tags.add(Tag.objects.get_or_create(name=tag)[0])
    for channel, purpose, status, at in consents or []:
        do_set_consent(customer, channel, purpose, status, source="test", at=at)
    if address:
        Address.objects.create(customer=customer, **address)
    customer.refresh_from_db()
    return customer


def dump_all() -> dict[str, Any]:
    """Every row of Customer and of every table with a foreign key to it, by primary key.
    Search tokens are an index rebuilt from names, so they compare as (customer, token) pairs."""
    out: dict[str, Any] = {"customers.customer": dump_rows(Customer, Customer.objects.values_list("pk", flat=True))}
    for relation in customer_relations():
        model = relation.model
        if model is SearchToken:
            out["customers.searchtoken"] = sorted(SearchToken.objects.values_list("customer_id", "token"))
            continue
        out[relation.label] = dump_rows(model, model._base_manager.values_list("pk", flat=True))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = []
    for label in sorted(set(before) | set(after)):
        if before.get(label) != after.get(label):
            b = {str(r): r for r in before.get(label, [])}
            a = {str(r): r for r in after.get(label, [])}
            lines.append(
                f"{label}: only before {[b[k] for k in b.keys() - a.keys()][:3]}; "
                f"only after {[a[k] for k in a.keys() - b.keys()][:3]}"
            )
    return lines


def at(days_ago: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days_ago)


def money(value: str) -> Decimal:
    return Decimal(value)


__all__ = ["at", "attnames", "diff", "dump_all", "money", "rich_customer", "unique_phone"]
