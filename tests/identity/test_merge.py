"""Merging and unmerging through the actions: what moves, what survives, what is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from kehu.commerce.models import Order, Return
from kehu.customers.actions import check_update_customer, do_add_note, purchase_stats_drift
from kehu.customers.models import Customer, CustomerIdentity, Interaction, Note, SearchToken
from kehu.identity import survivorship
from kehu.identity.actions import check_merge, check_unmerge
from kehu.identity.merging import MergeRefused, customer_relations
from kehu.identity.models import DuplicateSuggestion, MergeRecord, SuggestionStatus
from kehu.privacy.models import AuditEvent, Consent, ConsentEvent
from kehu.scoring.models import CustomerScore, ScoringRun
from tests.identity.helpers import at, diff, dump_all, rich_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(ref: dict[str, Any]) -> tuple[Customer, Customer]:
    older = rich_customer(
        "张伟",
        birthday=dt.date(1990, 5, 1),
        orders=2,
        tags=["VIP", "门店"],
        consents=[("sms", "marketing", "granted", at(30)), ("email", "marketing", "granted", at(10))],
    )
    newer = rich_customer(
        "张玮",
        orders=1,
        notes=2,
        tags=["VIP"],
        consents=[("sms", "marketing", "withdrawn", at(2)), ("email", "marketing", "withdrawn", at(20))],
        address={"province": "上海市", "city": "上海市", "district": "浦东新区", "detail": "世纪大道100号"},
        gender="F",
        home_store_id=ref["stores"]["sh-01"].pk,
    )
    return older, newer


def test_it_finds_every_table_that_references_customers() -> None:
    labels = {r.label for r in customer_relations()}
    assert {
        "commerce.order",
        "commerce.return",
        "customers.customeridentity",
        "customers.address",
        "customers.note",
        "customers.interaction",
        "customers.customer_tags",
        "customers.searchtoken",
        "privacy.consent",
        "privacy.consentevent",
        "scoring.customerscore",
        "scoring.gradesnapshot",
        "scoring.gradewarning",
    } <= labels
    assert not any(label.startswith("identity.") for label in labels)


def test_it_moves_everything_to_the_survivor(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    survivor, absorbed = pair
    orders = set(Order.objects.filter(customer__in=pair).values_list("pk", flat=True))
    phones = set(CustomerIdentity.objects.filter(customer__in=pair).values_list("value", flat=True))
    notes = Note.objects.filter(customer__in=pair).count()
    events = ConsentEvent.objects.filter(customer__in=pair).count()

    record = check_merge(users["sales"], survivor.pk, absorbed.pk)

    assert not Customer.objects.filter(pk=absorbed.pk).exists()
    survivor.refresh_from_db()
    assert set(survivor.orders.values_list("pk", flat=True)) == orders
    assert set(survivor.identities.values_list("value", flat=True)) == phones
    assert survivor.notes.count() == notes
    assert ConsentEvent.objects.filter(customer=survivor).count() == events
    assert survivor.addresses.count() == 1
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["VIP", "门店"]
    # The latest statement wins per channel and purpose: SMS withdrawn 2 days ago, email granted 10 days ago.
    consents = dict(Consent.objects.filter(customer=survivor).values_list("channel", "status"))
    assert consents == {"sms": "withdrawn", "email": "granted"}
    # Purchase figures recomputed, no drift; non-empty values fill empty ones.
    assert survivor.order_count == 3
    assert survivor.total_spent == Decimal("100.50") + Decimal("110.50") + Decimal("100.50")
    assert purchase_stats_drift() == 0
    assert survivor.name == "张伟"
    assert survivor.gender == "F"
    assert survivor.birthday == dt.date(1990, 5, 1)
    assert survivor.home_store_id is not None
    # Timeline entry, audit for both records.
    entry = Interaction.objects.get(pk=record.interaction_id)
    assert entry.customer_id == survivor.pk and entry.kind == "merge" and "张玮" in entry.title
    assert AuditEvent.objects.filter(object_type="customer", object_id=str(absorbed.pk), action="delete").exists()
    assert AuditEvent.objects.filter(object_type="customer", object_id=str(survivor.pk), action="update").exists()
    assert record.moved["commerce.order"]["customer_id"]
    assert not SearchToken.objects.filter(customer_id=absorbed.pk).exists()


def test_chosen_fields_survive_and_search_follows_the_name(
    pair: tuple[Customer, Customer], users: dict[str, Any]
) -> None:
    survivor, absorbed = pair
    check_merge(users["admin"], survivor.pk, absorbed.pk, {"name": "absorbed", "gender": "survivor"})
    survivor.refresh_from_db()
    assert survivor.name == "张玮"
    assert survivor.gender == ""
    tokens = set(SearchToken.objects.filter(customer_id=survivor.pk).values_list("token", flat=True))
    assert tokens == {"张玮"}


def test_unmerge_restores_both_records_exactly(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    survivor, absorbed = pair
    before = dump_all()
    record = check_merge(users["sales"], survivor.pk, absorbed.pk, {"name": "absorbed"})
    restored = check_unmerge(users["service"], record.pk)
    assert restored.pk == absorbed.pk
    assert diff(before, dump_all()) == []
    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by == users["service"]


def test_the_default_survivor_is_the_earliest_record() -> None:
    first, second = rich_customer("甲", orders=0), rich_customer("乙", orders=0)
    assert survivorship.default_survivor_first(second, first) == (first, second)


def test_a_merged_suggestion_is_marked_and_reopened_by_undo(
    pair: tuple[Customer, Customer], users: dict[str, Any]
) -> None:
    survivor, absorbed = pair
    low, high = sorted((survivor.pk, absorbed.pk))
    suggestion = DuplicateSuggestion.objects.create(
        customer_a_id=low, customer_b_id=high, score=85, method="probabilistic", refreshed_at=at(0)
    )
    record = check_merge(users["sales"], survivor.pk, absorbed.pk, suggestion_id=suggestion.pk)
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.MERGED and suggestion.merge == record
    check_unmerge(users["sales"], record.pk)
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.PENDING and suggestion.merge is None


# --- refusals change nothing ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["marketing", "store_manager", "analyst"])
def test_roles_without_the_merge_capability_are_refused(
    pair: tuple[Customer, Customer], users: dict[str, Any], role: str
) -> None:
    before = dump_all()
    with pytest.raises(PermissionDenied):
        check_merge(users[role], pair[0].pk, pair[1].pk)
    assert diff(before, dump_all()) == []


def test_merging_a_customer_with_itself_is_refused(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        check_merge(users["admin"], pair[0].pk, pair[0].pk)
    assert "itself" in str(exc.value)


def test_unknown_customers_are_not_found(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    before = dump_all()
    with pytest.raises(Http404):
        check_merge(users["admin"], pair[0].pk, 999_999)
    assert diff(before, dump_all()) == []


def test_an_already_merged_customer_is_refused_clearly(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    survivor, absorbed = pair
    third = rich_customer("第三", orders=0)
    check_merge(users["admin"], survivor.pk, absorbed.pk)
    with pytest.raises(MergeRefused, match="already merged"):
        check_merge(users["admin"], third.pk, absorbed.pk)


def test_unknown_fields_are_refused(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    before = dump_all()
    with pytest.raises(ValidationError):
        check_merge(users["admin"], pair[0].pk, pair[1].pk, {"order_count": "absorbed"})
    with pytest.raises(ValidationError):
        check_merge(users["admin"], pair[0].pk, pair[1].pk, {"name": "both"})
    assert diff(before, dump_all()) == []


def test_a_clash_without_a_rule_refuses_the_merge(
    pair: tuple[Customer, Customer], users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = ScoringRun.objects.create(cutoff=dt.date(2026, 1, 1))
    for customer in pair:
        CustomerScore.objects.create(customer=customer, run=run, scored_at=at(1))
    monkeypatch.setattr(survivorship, "DROP_MODELS", frozenset())
    before = dump_all()
    with pytest.raises(MergeRefused, match="customer scores"):
        check_merge(users["admin"], pair[0].pk, pair[1].pk)
    assert diff(before, dump_all()) == []
    assert not MergeRecord.objects.exists()


def test_undo_twice_is_refused(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    record = check_merge(users["admin"], pair[0].pk, pair[1].pk)
    check_unmerge(users["admin"], record.pk)
    with pytest.raises(MergeRefused, match="already been undone"):
        check_unmerge(users["admin"], record.pk)


def test_undo_is_refused_while_a_later_merge_into_the_same_record_stands(
    pair: tuple[Customer, Customer], users: dict[str, Any]
) -> None:
    survivor, absorbed = pair
    third = rich_customer("张伟", orders=1)
    first = check_merge(users["admin"], survivor.pk, absorbed.pk)
    second = check_merge(users["admin"], survivor.pk, third.pk)
    state = dump_all()
    with pytest.raises(MergeRefused, match="undo that merge first"):
        check_unmerge(users["admin"], first.pk)
    assert diff(state, dump_all()) == []
    check_unmerge(users["admin"], second.pk)
    check_unmerge(users["admin"], first.pk)
    assert Customer.objects.filter(pk__in=[absorbed.pk, third.pk]).count() == 2


def test_undo_is_refused_when_the_survivor_was_merged_away(
    pair: tuple[Customer, Customer], users: dict[str, Any]
) -> None:
    survivor, absorbed = pair
    other = rich_customer("王芳", orders=0)
    first = check_merge(users["admin"], survivor.pk, absorbed.pk)
    check_merge(users["admin"], other.pk, survivor.pk)
    with pytest.raises(MergeRefused, match="later merged into"):
        check_unmerge(users["admin"], first.pk)


def test_undo_is_refused_when_a_moved_row_was_deleted(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    survivor, absorbed = pair
    record = check_merge(users["admin"], survivor.pk, absorbed.pk)
    Note.objects.filter(pk=record.moved["customers.note"]["customer_id"][0]).delete()
    with pytest.raises(MergeRefused, match="notes"):
        check_unmerge(users["admin"], record.pk)
    assert not Customer.objects.filter(pk=absorbed.pk).exists()


def test_undo_is_refused_when_a_merged_field_was_edited_since(
    pair: tuple[Customer, Customer], users: dict[str, Any]
) -> None:
    survivor, absorbed = pair
    record = check_merge(users["admin"], survivor.pk, absorbed.pk)  # gender F came from the absorbed record
    check_update_customer(users["admin"], Customer.objects.get(pk=survivor.pk), {"gender": "M"})
    with pytest.raises(MergeRefused, match="gender"):
        check_unmerge(users["admin"], record.pk)


def test_later_activity_on_the_survivor_stays_with_it_after_undo(
    pair: tuple[Customer, Customer], users: dict[str, Any]
) -> None:
    from tests.factories import make_order

    survivor, absorbed = pair
    record = check_merge(users["admin"], survivor.pk, absorbed.pk)
    merged = Customer.objects.get(pk=survivor.pk)
    make_order(merged, amount="50.00")
    do_add_note(None, merged, "after the merge")
    check_unmerge(users["admin"], record.pk)
    survivor.refresh_from_db()
    assert survivor.order_count == 3  # two of its own plus the later one
    assert survivor.notes.filter(body="after the merge").exists()
    assert Customer.objects.get(pk=absorbed.pk).order_count == 1
    assert purchase_stats_drift() == 0


def test_returns_follow_the_survivor(pair: tuple[Customer, Customer], users: dict[str, Any]) -> None:
    survivor, absorbed = pair
    order = absorbed.orders.first()
    ret = Return.objects.create(
        source_system="t", source_id="R1", order=order, customer=absorbed, amount="10.00", requested_at=at(1)
    )
    record = check_merge(users["admin"], survivor.pk, absorbed.pk)
    ret.refresh_from_db()
    assert ret.customer_id == survivor.pk
    check_unmerge(users["admin"], record.pk)
    ret.refresh_from_db()
    assert ret.customer_id == absorbed.pk
