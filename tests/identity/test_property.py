"""Acceptance: merge then unmerge restores every related record exactly (hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.customers.models import Address, Customer, Interaction
from kehu.identity.merging import MergeRefused, do_merge, do_unmerge
from kehu.identity.survivorship import FIELD_RULES
from kehu.scoring.models import CustomerScore, GradeSnapshot, ScoringRun
from tests.identity.helpers import at, diff, dump_all, rich_customer

pytestmark = pytest.mark.django_db

NAMES = ["张伟", "张玮", "王芳", "欧阳·娜娜", "Zhang Wei", "李娜😀"]
TAGS = ["VIP", "团购", "门店"]
CONSENT_KEYS = [("sms", "marketing"), ("email", "marketing"), ("wechat", "service")]

customer_spec = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "birthday": st.none() | st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2005, 12, 31)),
        "gender": st.sampled_from(["", "F", "M"]),
        "kind": st.sampled_from(["consumer", "lead"]),
        "orders": st.integers(0, 3),
        "notes": st.integers(0, 2),
        "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
        "consents": st.lists(
            st.tuples(st.sampled_from(CONSENT_KEYS), st.sampled_from(["granted", "withdrawn"]), st.integers(0, 3)),
            max_size=4,
        ),
        "addresses": st.integers(0, 2),
        "scored": st.booleans(),
        "sourced": st.booleans(),
        "store": st.sampled_from([None, "sh-01", "bj-01"]),
    }
)


def build(spec: dict[str, Any], ref: dict[str, Any], run: ScoringRun) -> Any:
    store = ref["stores"][spec["store"]] if spec["store"] else None
    customer = rich_customer(
        spec["name"],
        birthday=spec["birthday"],
        orders=spec["orders"],
        notes=spec["notes"],
        tags=spec["tags"],
        consents=[(c, p, status, at(days)) for (c, p), status, days in spec["consents"]],
        gender=spec["gender"],
        kind=spec["kind"],
        home_store_id=store.pk if store else None,
    )
    for i in range(spec["addresses"]):
        Address.objects.create(
            customer=customer, province="上海市", city="上海市", district="浦东新区", detail=f"世纪大道{i}号"
        )
    if spec["sourced"]:  # an imported record: its source key is unique across customers
        Customer.objects.filter(pk=customer.pk).update(source_system="crm", source_id=f"C{customer.pk}")
    if spec["scored"]:
        CustomerScore.objects.create(customer=customer, run=run, tier="gold", scored_at=at(1), monetary="12.34")
        GradeSnapshot.objects.create(customer=customer, run=run, cutoff=dt.date(2026, 1, 1), r_grade="A")
    customer.refresh_from_db()
    return customer


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    specs=st.lists(customer_spec, min_size=2, max_size=3),
    choices=st.dictionaries(st.sampled_from(list(FIELD_RULES)), st.sampled_from(["survivor", "absorbed"])),
    chain=st.booleans(),
)
def test_merge_then_unmerge_restores_everything_exactly(
    ref: dict[str, Any], users: dict[str, Any], specs: list[dict[str, Any]], choices: dict[str, str], chain: bool
) -> None:
    with transaction.atomic():
        run = ScoringRun.objects.create(cutoff=dt.date(2026, 1, 1))
        customers = [build(spec, ref, run) for spec in specs]
        before = dump_all()
        first = do_merge(users["admin"], customers[0], customers[1], choices)
        assert Interaction.objects.filter(pk=first.interaction_id).exists()
        middle = dump_all()
        second = None
        if chain and len(customers) == 3:
            second = do_merge(users["admin"], customers[0], customers[2], choices)
            with pytest.raises(MergeRefused):
                do_unmerge(users["admin"], first)
            do_unmerge(users["admin"], second)
            assert diff(middle, dump_all()) == []
        do_unmerge(users["admin"], first)
        assert diff(before, dump_all()) == []
        transaction.set_rollback(True)
