"""Buyers resolved a column at a time (`do_bulk_upsert_buyers`, the order import's path) give
exactly what the row form `do_bulk_upsert_customers(update_profiles=False)` gives: the same
customer per row, the same new customers, identities, addresses, name tokens, timeline entries
and history, on random batches that share phones, e-mails and cards across rows in every way."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from django.db import connection, transaction

from kehu.commerce.models import Channel, Store
from kehu.customers.bulk_upsert import (
    BUYER_COLUMNS,
    CustomerRow,
    do_bulk_upsert_buyers,
    do_bulk_upsert_customers,
    group_identity_columns,
)
from kehu.customers.models import Address, Customer, CustomerIdentity, Interaction, SearchToken
from tests.factories import make_customer


class _Undo(Exception):
    pass


def _batch(seed: int, size: int) -> list[CustomerRow]:
    rng = random.Random(seed)
    phones = [f"+86139{i:08d}" for i in range(size // 3 + 1)]
    emails = [f"u{i}@example.com" for i in range(size // 3 + 1)]
    cards = [f"C{i}" for i in range(size // 4 + 1)]
    channels = list(Channel.objects.values_list("pk", flat=True))
    stores = [None, *Store.objects.values_list("pk", flat=True)]
    rows = []
    for i in range(size):
        rows.append(
            CustomerRow(
                row=i + 2, source_system="shop", name=rng.choice(["张伟", "王芳", "", "李娜😀", "欧阳·娜娜"]),
                phone=rng.choice(phones) if rng.random() < 0.7 else "",
                email=rng.choice(emails) if rng.random() < 0.4 else "",
                member_card=rng.choice(cards) if rng.random() < 0.2 else "",
                province="上海" if rng.random() < 0.1 else "", detail=rng.choice(["", "", "淮海路1号", "南京路2号"]),
                preferred_channel_id=rng.choice(channels), home_store_id=rng.choice(stores),
            )
        )  # fmt: skip
    return rows


def _state() -> tuple[Any, ...]:
    return (
        sorted(Customer.objects.values_list("pk", "name", "kind", "home_store_id", "preferred_channel_id",
                                            "source_system", "source_id", "gender", "birthday")),
        sorted(CustomerIdentity.objects.values_list("customer_id", "kind", "value", "is_primary", "source_system")),
        sorted(Address.objects.values_list("customer_id", "province", "city", "district", "detail", "is_default")),
        sorted(SearchToken.objects.values_list("customer_id", "token")),
        sorted(Interaction.objects.values_list("customer_id", "kind", "title", "ref_type", "ref_id")),
    )  # fmt: skip


def _changes(result: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (c.model, c.object_id, c.created, sorted((c.previous or {}).items()), list(c.ids or [])) for c in result.changes
    )


def _restart_sequences() -> None:
    """PostgreSQL does not roll sequences back: both runs must draw the same new ids."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Customer, Address):
            table = model._meta.db_table
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)",
                [table],
            )


def _run(rows: list[CustomerRow], columnar: bool) -> tuple[Any, ...]:
    _restart_sequences()
    try:
        with transaction.atomic():
            if columnar:
                result = do_bulk_upsert_buyers(
                    {f: np.array([getattr(r, f) for r in rows], dtype=object) for f in BUYER_COLUMNS},
                    source_system="shop",
                    preferred_channel_id=np.array([r.preferred_channel_id for r in rows], dtype=np.int64),
                    home_store_id=np.array([r.home_store_id for r in rows], dtype=object),
                    ref_id=7,
                )
            else:
                result = do_bulk_upsert_customers(rows, update_profiles=False, ref_id=7)
            outcome = (
                [int(c) for c in result.customer_ids], sorted(result.created), sorted(result.unchanged),
                _changes(result), _state(),
            )  # fmt: skip
            raise _Undo
    except _Undo:
        return outcome


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("seed", range(8))
def test_columns_resolve_buyers_exactly_as_rows(ref, seed):
    # Stored customers owning some of the identities the batch uses.
    make_customer("老客甲", phone="13900000001")
    make_customer("老客乙", phone="13900000005", email="u3@example.com")
    owner = make_customer("老客丙", email="u7@example.com")
    CustomerIdentity.objects.create(customer=owner, kind="member_card", value="C2", source_system="x")
    Address.objects.create(customer=owner, province="", city="", district="", detail="淮海路1号", is_default=True)
    rows = _batch(seed, 60 + seed * 10)
    assert _run(rows, columnar=True) == _run(rows, columnar=False)


def test_grouping_follows_the_first_row_of_each_value():
    phone = np.array(["p1", "", "p2", "p1", "", "p3", "p3"], dtype=object)
    email = np.array(["", "e1", "e1", "e1", "e2", "e2", ""], dtype=object)
    card = np.array(["", "", "", "", "", "", ""], dtype=object)
    group_of, firsts, _kinds = group_identity_columns([phone, email, card])
    # Row 2 joins row 1 (e-mail e1); row 3 joins row 0 by phone, which comes first, though its
    # e-mail is row 1's; row 5 joins row 4 (e2) and row 6 joins row 5's group by phone p3.
    assert group_of.tolist() == [0, 1, 1, 0, 2, 2, 2]
    assert firsts.tolist() == [0, 1, 4]
