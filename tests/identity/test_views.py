"""The review queue, compare-and-merge and undo pages: every role, bad input, nothing changed
on refusal, masking, and the 360 page's duplicates card."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from kehu.customers.models import Customer
from kehu.identity.actions import check_merge
from kehu.identity.models import DuplicateSuggestion, MergeRecord, SuggestionStatus
from tests.identity.helpers import at, diff, dump_all, rich_customer

pytestmark = pytest.mark.django_db

ALLOWED = ["admin", "sales", "service"]
REFUSED = ["marketing", "store_manager", "analyst"]
ROLES = ALLOWED + REFUSED


@pytest.fixture
def suggested(ref: dict[str, Any]) -> tuple[Customer, Customer, DuplicateSuggestion]:
    a = rich_customer("张伟", birthday=dt.date(1990, 5, 1), home_store_id=ref["stores"]["sh-01"].pk)
    b = rich_customer("张玮", birthday=dt.date(1990, 5, 1), gender="M")
    suggestion = DuplicateSuggestion.objects.create(
        customer_a_id=a.pk,
        customer_b_id=b.pk,
        score=82,
        method="probabilistic",
        reasons=[{"code": "name_sounds_same"}, {"code": "birthday_same"}],
        refreshed_at=at(0),
    )
    return a, b, suggestion


@pytest.mark.parametrize("role", ROLES)
def test_review_queue_by_role(client_for: Any, suggested: Any, role: str) -> None:
    response = client_for(role).get(reverse("identity:review"))
    if role in REFUSED:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert "Names sound the same (pinyin)" in html and "Same birthday" in html
    assert "张伟" in html and "张玮" in html
    # Phones and emails are masked in the queue for every role.
    phone = suggested[0].identities.get(kind="phone").value
    assert phone not in html and f"{phone[3:6]}****{phone[-4:]}" in html
    assert 'data-testid="pending-count">1<' in html


@pytest.mark.parametrize("role", ROLES)
def test_merge_page_flow_by_role(client_for: Any, suggested: Any, role: str) -> None:
    a, b, suggestion = suggested
    client = client_for(role)
    compare = client.get(reverse("identity:compare", args=[a.pk, b.pk]) + f"?suggestion={suggestion.pk}")
    before = dump_all()
    response = client.post(
        reverse("identity:merge"),
        {"survivor": a.pk, "absorbed": b.pk, "field_gender": "absorbed", "suggestion": suggestion.pk},
    )
    if role in REFUSED:
        assert compare.status_code == 403 and response.status_code == 403
        assert diff(before, dump_all()) == []
        assert not MergeRecord.objects.exists()
        return
    assert compare.status_code == 200
    assert 'name="field_gender"' in compare.content.decode()
    assert response.status_code == 302 and response.url == reverse("customer-detail", args=[a.pk])
    assert not Customer.objects.filter(pk=b.pk).exists()
    assert Customer.objects.get(pk=a.pk).gender == "M"
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.MERGED


@pytest.mark.parametrize("role", ROLES)
def test_undo_by_role(client_for: Any, users: dict[str, Any], suggested: Any, role: str) -> None:
    a, b, _s = suggested
    record = check_merge(users["admin"], a.pk, b.pk)
    before = dump_all()
    response = client_for(role).post(reverse("identity:unmerge", args=[record.pk]))
    if role in REFUSED:
        assert response.status_code == 403
        assert diff(before, dump_all()) == []
        return
    assert response.status_code == 302 and response.url == reverse("customer-detail", args=[b.pk])
    assert Customer.objects.filter(pk=b.pk).exists()


@pytest.mark.parametrize("role", ROLES)
def test_bulk_dismiss_by_role(client_for: Any, suggested: Any, role: str) -> None:
    _a, _b, suggestion = suggested
    response = client_for(role).post(reverse("identity:dismiss"), {"suggestion": [suggestion.pk]})
    suggestion.refresh_from_db()
    if role in REFUSED:
        assert response.status_code == 403 and suggestion.status == SuggestionStatus.PENDING
    else:
        assert response.status_code == 302 and suggestion.status == SuggestionStatus.DISMISSED


@pytest.mark.parametrize("role", ROLES)
def test_starting_a_scan_by_role(client_for: Any, role: str, db: Any, settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from kehu.identity.models import DuplicateScan

    response = client_for(role).post(reverse("identity:scan"))
    assert response.status_code == (403 if role in REFUSED else 302)
    assert DuplicateScan.objects.exists() == (role in ALLOWED)


def test_bad_merge_input_is_a_clear_message_not_an_error(client_for: Any, suggested: Any) -> None:
    a, b, _s = suggested
    client = client_for("sales")
    before = dump_all()
    for data in ({"survivor": a.pk, "absorbed": a.pk}, {"survivor": "x", "absorbed": b.pk}, {}):
        response = client.post(reverse("identity:merge"), data, follow=True)
        assert response.status_code == 200
        assert "alert-danger" in response.content.decode()
    response = client.post(reverse("identity:merge"), {"survivor": a.pk, "absorbed": 999_999})
    assert response.status_code == 404
    response = client.post(reverse("identity:merge"), {"survivor": a.pk, "absorbed": b.pk, "field_name": "neither"})
    assert response.status_code == 302
    assert diff(before, dump_all()) == []
    assert client.post(reverse("identity:unmerge", args=[12345])).status_code == 404
    assert client.get(reverse("identity:compare", args=[a.pk, 999_999])).status_code == 404


def test_a_refused_undo_explains_why(client_for: Any, users: dict[str, Any], suggested: Any) -> None:
    a, b, _s = suggested
    third = rich_customer("张伟", orders=0)
    first = check_merge(users["admin"], a.pk, b.pk)
    check_merge(users["admin"], a.pk, third.pk)
    page = reverse("customer-detail", args=[a.pk])
    response = client_for("sales").post(reverse("identity:unmerge", args=[first.pk]), {"next": page}, follow=True)
    assert "undo that merge first" in response.content.decode()
    assert not Customer.objects.filter(pk=b.pk).exists()


def test_the_360_page_shows_duplicates_and_merge_history(
    client_for: Any, users: dict[str, Any], suggested: Any
) -> None:
    a, b, _suggestion = suggested
    html = client_for("service").get(reverse("customer-detail", args=[a.pk])).content.decode()
    assert "Possible duplicates" in html
    assert reverse("identity:compare", args=[a.pk, b.pk]) in html
    check_merge(users["admin"], a.pk, b.pk)
    html = client_for("service").get(reverse("customer-detail", args=[a.pk])).content.decode()
    assert "Merge history" in html and 'data-testid="undo-merge"' in html
    # Roles that may not merge see neither the hint nor the undo button.
    html = client_for("marketing").get(reverse("customer-detail", args=[a.pk])).content.decode()
    assert 'data-testid="identity-card"' not in html


def test_the_queue_has_keyboard_help_and_bulk_selection(client_for: Any, suggested: Any) -> None:
    html = client_for("admin").get(reverse("identity:review")).content.decode()
    assert "identity/review.js" in html
    assert "data-review-row" in html and 'tabindex="0"' in html and "data-review-all" in html


@pytest.mark.parametrize("role", ROLES)
def test_the_customer_list_links_to_the_queue_for_reviewers(client_for: Any, role: str, db: Any) -> None:
    html = client_for(role).get(reverse("customer-list")).content.decode()
    assert (reverse("identity:review") in html) == (role in ALLOWED)
