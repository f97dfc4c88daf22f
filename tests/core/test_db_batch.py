"""`kehu.db.read_many` returns what the ORM returns, in one round trip on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.commerce.models import Return
from kehu.customers.actions import do_add_note
from kehu.customers.models import Address, Customer, CustomerIdentity, Interaction, Note, Tag
from kehu.db import Rows, read_many
from kehu.privacy.actions import do_set_consent
from kehu.privacy.models import Consent
from kehu.scoring.models import CustomerScore, GradeWarning, ScoringRun
from tests.factories import make_customer, make_order


def _fields(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _same(batch: list[Model], orm: list[Model]) -> None:
    assert [_fields(o) for o in batch] == [_fields(o) for o in orm]
    for a, b in zip(batch, orm, strict=True):
        for name, value in _fields(b).items():
            # Same Python types as the ORM's (datetimes, decimals, JSON, booleans on SQLite).
            assert type(getattr(a, name)) is type(value), name
        assert a._state.db == b._state.db and not a._state.adding


@pytest.fixture
def customer(users: dict[str, Any]) -> Customer:
    c = make_customer("欧阳·娜娜🌸", phone="13900139001", email="Nana@Example.com")
    Address.objects.create(customer=c, province="上海市", city="上海市", district="黄浦区", detail="南京东路 1 号")
    Address.objects.create(customer=c, label="公司", detail="淮海中路 2 号", is_default=True)
    tags = [Tag.objects.create(name=n, color=col) for n, col in [("VIP", "red"), ("会员", "green")]]
    c.tags.add(*tags)
    do_set_consent(c, "sms", "marketing", "granted")
    do_set_consent(c, "email", "marketing", "withdrawn")
    for i in range(3):
        make_order(c, amount=f"{100 + i}.50", channel=["web", "app", "store"][i], store="sh-01" if i == 2 else None)
    do_add_note(users["admin"], c, "喜欢深色 <b>外套</b>")
    do_add_note(None, c, "system note")
    order = c.orders.first()
    assert order is not None
    Return.objects.create(customer=c, order=order, source_system="t", source_id="r1", requested_at=timezone.now())
    for kind in ("call", "message"):
        Interaction.objects.create(
            customer=c, kind=kind, occurred_at=timezone.now(), channel=order.channel, title=kind, detail="<i>x</i>"
        )
    return c


@pytest.mark.django_db
def test_it_reads_the_same_rows_as_the_orm(customer: Customer) -> None:
    pk = [customer.pk]
    tags_table = Customer.tags.through._meta.db_table
    identities, addresses, consents, tags, notes, timeline, returns, nothing = read_many(
        [
            Rows(CustomerIdentity, "t.customer_id = %s", pk, order_by="t.kind, t.is_primary DESC, t.id"),
            Rows(Address, "t.customer_id = %s", pk, order_by="t.is_default DESC, t.id"),
            Rows(Consent, "t.customer_id = %s", pk, order_by="t.channel, t.purpose"),
            Rows(
                Tag, "ct.customer_id = %s", pk, order_by="t.name", through=f"JOIN {tags_table} ct ON ct.tag_id = t.id"
            ),
            Rows(Note, "t.customer_id = %s", pk, order_by="t.created_at DESC, t.id DESC", join=("author",)),
            Rows(
                Interaction,
                "t.customer_id = %s",
                pk,
                order_by="t.occurred_at DESC, t.id DESC",
                limit=4,
                join=("channel",),
            ),
            Rows(Return, "t.customer_id = %s", pk, count=True),
            Rows(Address, "t.customer_id = %s", [-1]),
        ]
    )
    _same(identities, list(customer.identities.all()))
    _same(addresses, list(customer.addresses.all()))
    _same(consents, list(customer.consents.all()))
    _same(tags, list(customer.tags.all()))
    _same(notes, list(customer.notes.order_by("-created_at", "-id")))
    orm_timeline = list(customer.interactions.select_related("channel").order_by("-occurred_at", "-pk")[:4])
    _same(timeline, orm_timeline)
    assert returns == 1 and nothing == []
    assert len(identities) == 2 and len(addresses) == 2 and len(tags) == 2 and len(notes) == 2
    # Joined rows are cached as select_related would: no query to read them, None for no row.
    orm_authors = [n.author.username if n.author else None for n in customer.notes.order_by("-created_at", "-id")]
    with CaptureQueriesContext(connection) as ctx:
        batch_authors = [n.author.username if n.author else None for n in notes]
        batch_channels = [(i.channel_id, i.channel.name if i.channel else None) for i in timeline]
    assert ctx.captured_queries == []
    assert batch_authors == orm_authors
    assert batch_channels == [(i.channel_id, i.channel.name if i.channel else None) for i in orm_timeline]
    assert any(i.channel_id for i in timeline)
    assert {n.author is None for n in notes} == {True, False}


@pytest.mark.django_db
def test_it_reads_only_the_asked_fields_of_a_joined_row(customer: Customer) -> None:
    run = ScoringRun.objects.create(cutoff=dt.date(2026, 9, 30), insights={"big": list(range(100))})
    CustomerScore.objects.create(
        customer=customer,
        run=run,
        recency_days=3,
        monetary=Decimal("301.50"),
        clv_365d=Decimal("1234.56"),
        p_alive=0.87,
        churn_reasons=[{"feature": "recency", "impact": 0.2}],
        tier="gold",
        scored_at=timezone.now(),
    )
    (scores,) = read_many([Rows(CustomerScore, "t.customer_id = %s", [customer.pk], join=(("run", ("cutoff",)),))])
    (score,) = scores
    _same(scores, list(CustomerScore.objects.filter(customer=customer)))
    assert score.monetary == Decimal("301.50") and score.churn_reasons == [{"feature": "recency", "impact": 0.2}]
    with CaptureQueriesContext(connection) as ctx:
        assert score.run.cutoff == dt.date(2026, 9, 30)
    assert ctx.captured_queries == []
    assert "insights" in score.run.get_deferred_fields()


@pytest.mark.django_db
def test_it_takes_one_round_trip_on_postgresql(customer: Customer) -> None:
    reads = [
        Rows(CustomerIdentity, "t.customer_id = %s", [customer.pk]),
        Rows(GradeWarning, "t.customer_id = %s", [customer.pk]),
        Rows(Return, "t.customer_id = %s", [customer.pk], count=True),
    ]
    with CaptureQueriesContext(connection) as ctx:
        identities, warnings, returns = read_many(reads)
    assert len(identities) == 2 and warnings == [] and returns == 1
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 3)


@pytest.mark.django_db
def test_parameters_are_bound_not_pasted(customer: Customer) -> None:
    hostile = "x'; DELETE FROM customers_customer; --"
    (found,) = read_many([Rows(CustomerIdentity, "t.value = %s", [hostile])])
    assert found == [] and Customer.objects.filter(pk=customer.pk).exists()
