"""Finding duplicates: deterministic evidence, probabilistic scores with reasons, blocking, the
scan (task and command), and no duplicate suggestions however often it runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command

from kehu.customers.models import Address, Customer, CustomerIdentity
from kehu.identity import matching
from kehu.identity.actions import check_dismiss, do_request_scan, do_run_scan
from kehu.identity.models import DuplicateScan, DuplicateSuggestion, ScanStatus, SuggestionStatus
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

BIRTHDAY = "1990-05-01"


def codes(suggestion: DuplicateSuggestion) -> set[str]:
    return {r["code"] for r in suggestion.reasons}


def suggestion_for(x: Customer, y: Customer) -> DuplicateSuggestion | None:
    low, high = sorted((x.pk, y.pk))
    return DuplicateSuggestion.objects.filter(customer_a_id=low, customer_b_id=high).first()


def scan() -> DuplicateScan:
    result = do_run_scan(DuplicateScan.objects.create())
    assert result.status == ScanStatus.SUCCEEDED, result.message
    return result


def address(customer: Customer, detail: str, district: str = "浦东新区") -> None:
    Address.objects.create(customer=customer, province="上海市", city="上海市", district=district, detail=detail)


def test_it_finds_the_same_phone_stored_in_a_legacy_spelling(db: Any) -> None:
    modern = make_customer("王芳", phone="13800138000")
    legacy = make_customer("Fang Wang")
    # Written by an old import before phones were normalised: the unique constraint cannot see it.
    CustomerIdentity.objects.create(customer=legacy, kind="phone", value="138-0013-8000")
    scan()
    suggestion = suggestion_for(modern, legacy)
    assert suggestion is not None
    assert suggestion.score == 100 and suggestion.method == "deterministic"
    assert suggestion.reasons == [{"code": "identity_same", "kind": "phone"}]


def test_it_finds_emails_and_member_cards_that_differ_only_in_case(db: Any) -> None:
    a, b, c, d = (make_customer(n) for n in ("甲", "乙", "丙", "丁"))
    CustomerIdentity.objects.create(customer=a, kind="email", value="Li.Na@Example.com")
    CustomerIdentity.objects.create(customer=b, kind="email", value="li.na@example.com")
    CustomerIdentity.objects.create(customer=c, kind="member_card", value="VIP 0001")
    CustomerIdentity.objects.create(customer=d, kind="member_card", value="vip0001")
    scan()
    assert codes(suggestion_for(a, b)) == {"identity_same"}
    assert codes(suggestion_for(c, d)) == {"identity_same"}
    assert DuplicateSuggestion.objects.count() == 2


def test_same_name_and_birthday_is_suggested(db: Any) -> None:
    a = make_customer("张伟", birthday=BIRTHDAY)
    b = make_customer("张伟", birthday=BIRTHDAY)
    scan()
    suggestion = suggestion_for(a, b)
    assert suggestion is not None and suggestion.method == "probabilistic"
    assert codes(suggestion) == {"name_same", "birthday_same"}
    assert suggestion.score == 85


def test_names_that_sound_the_same_are_suggested_with_a_reason(db: Any) -> None:
    a = make_customer("张伟", birthday=BIRTHDAY)
    b = make_customer("张玮", birthday=BIRTHDAY)
    scan()
    assert codes(suggestion_for(a, b)) == {"name_sounds_same", "birthday_same"}


def test_same_name_and_street_address_is_suggested(db: Any) -> None:
    a = make_customer("李娜")
    b = make_customer("李娜")
    address(a, "世纪大道100号3栋")
    address(b, "世纪大道 100 号 3 栋")
    scan()
    assert codes(suggestion_for(a, b)) == {"name_same", "address_same"}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # The same name alone is no evidence: many people are called 张伟.
        ({"name": "张伟"}, {"name": "张伟"}),
        # The same birthday with an unrelated name.
        ({"name": "张伟", "birthday": BIRTHDAY}, {"name": "欧阳娜娜", "birthday": BIRTHDAY}),
        # Different birthdays outweigh the same name and district.
        ({"name": "张伟", "birthday": BIRTHDAY}, {"name": "张伟", "birthday": "1985-01-02"}),
        # Different genders outweigh a homophone and the same birthday.
        ({"name": "张伟", "birthday": BIRTHDAY, "gender": "M"}, {"name": "张玮", "birthday": BIRTHDAY, "gender": "F"}),
    ],
)
def test_weak_or_contradicted_evidence_is_not_suggested(db: Any, first: dict[str, Any], second: dict[str, Any]) -> None:
    a = make_customer(**first)
    b = make_customer(**second)
    address(a, "世纪大道1号")
    address(b, "南京东路999号")
    scan()
    assert suggestion_for(a, b) is None


def test_rescanning_stores_each_pair_once_and_keeps_decisions(db: Any, users: dict[str, Any]) -> None:
    a = make_customer("张伟", birthday=BIRTHDAY)
    b = make_customer("张伟", birthday=BIRTHDAY)
    c = make_customer("王芳", birthday="1970-01-01")
    d = make_customer("王芳", birthday="1970-01-01")
    scan()
    scan()
    assert DuplicateSuggestion.objects.count() == 2
    dismissed = suggestion_for(a, b)
    check_dismiss(users["sales"], [dismissed.pk])
    scan()
    assert DuplicateSuggestion.objects.count() == 2
    assert suggestion_for(a, b).status == SuggestionStatus.DISMISSED
    assert suggestion_for(c, d).status == SuggestionStatus.PENDING


def test_a_pending_suggestion_the_data_no_longer_supports_is_dropped(db: Any) -> None:
    a = make_customer("张伟", birthday=BIRTHDAY)
    b = make_customer("张伟", birthday=BIRTHDAY)
    scan()
    Customer.objects.filter(pk=b.pk).update(birthday=dt.date(1999, 9, 9))
    scan()
    assert suggestion_for(a, b) is None


def test_blocking_compares_far_fewer_pairs_than_everyone_with_everyone(db: Any) -> None:
    birthdays = [dt.date(1980, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    Customer.objects.bulk_create(
        [Customer(name=f"客户{i}", birthday=birthdays[i % 40]) for i in range(400)]
        + [Customer(name="周杰", birthday=birthdays[0]), Customer(name="周杰", birthday=birthdays[0])]
    )
    result = scan()
    n = Customer.objects.count()
    assert result.pairs_compared < n * (n - 1) // 2 / 20
    assert DuplicateSuggestion.objects.filter(score__gte=85).count() >= 1


def test_an_oversized_block_is_split_by_the_first_character(db: Any) -> None:
    members = [(i, f"王{i}") for i in range(matching.SPLIT_BLOCK)] + [(10_000 + i, f"李{i}") for i in range(5)]
    blocks = list(matching._split(members))
    assert sorted(len(b) for b in blocks) == [5, matching.SPLIT_BLOCK]


def test_the_scan_runs_as_a_background_task(
    db: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    make_customer("张伟", birthday=BIRTHDAY)
    make_customer("张伟", birthday=BIRTHDAY)
    with django_capture_on_commit_callbacks(execute=True):
        queued = do_request_scan(users["sales"])
        assert do_request_scan(users["admin"]).pk == queued.pk  # one scan at a time
    queued.refresh_from_db()
    assert queued.status == ScanStatus.SUCCEEDED and queued.progress == 100
    assert queued.suggestions_found == 1


def test_the_find_duplicates_command(db: Any, capsys: Any) -> None:
    make_customer("张伟", birthday=BIRTHDAY)
    make_customer("张伟", birthday=BIRTHDAY)
    call_command("find_duplicates")
    assert "1 suggestions stored" in capsys.readouterr().out
    assert DuplicateSuggestion.objects.count() == 1


def test_unicode_names_survive_matching_unchanged(db: Any) -> None:
    a = make_customer("欧阳·娜娜😀", birthday=BIRTHDAY)
    b = make_customer("欧阳·娜娜😀", birthday=BIRTHDAY)
    scan()
    assert codes(suggestion_for(a, b)) == {"name_same", "birthday_same"}
    assert Customer.objects.get(pk=a.pk).name == "欧阳·娜娜😀"
