"""The data-quality page: each check finds seeded bad records, each fix repairs exactly those and
changes nothing else, the role matrix (refusals change nothing), store scoping, background fixes
and bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from kehu.commerce.models import Order
from kehu.customers.models import Address, Customer, CustomerIdentity
from kehu.privacy.models import AuditAction, AuditEvent
from kehu.quality.checks import CHECKS, get_check
from kehu.quality.models import FixRun, FixStatus
from tests.factories import make_customer, make_order

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]
EDITORS = {"admin", "sales", "service", "store_manager"}


def counts(user: Any) -> dict[str, int]:
    return {check.key: check.count(user) for check in CHECKS}


def snapshot() -> dict[str, Any]:
    """Everything the fixes may touch, to prove a fix changed only what it should."""
    return {
        "identities": sorted(CustomerIdentity.objects.values_list("pk", "customer_id", "kind", "value")),
        "customers": sorted(
            Customer.objects.values_list(
                "pk", "name", "home_store_id", "order_count", "total_spent", "first_order_at", "last_order_at"
            )
        ),
        "addresses": sorted(Address.objects.values_list("pk", "province", "city", "district", "detail")),
        "orders": sorted(Order.objects.values_list("pk", "paid_amount", "total_amount", "discount_amount")),
    }


def post_fix(client: Client, key: str) -> Any:
    return client.post(f"/quality/{key}/fix")


@pytest.fixture
def clean(shanghai_customer: Customer, beijing_customer: Customer) -> dict[str, Customer]:
    return {"sh": shanghai_customer, "bj": beijing_customer}


@pytest.mark.django_db
def test_it_finds_nothing_in_clean_data(users: dict[str, Any], clean: dict[str, Customer]) -> None:
    assert counts(users["admin"]) == {check.key: 0 for check in CHECKS}


@pytest.mark.django_db
def test_it_renormalises_phone_numbers_and_leaves_unfixable_ones(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    fixable = make_customer("孙丽")
    CustomerIdentity.objects.create(customer=fixable, kind="phone", value="138 0013 8001")
    broken = CustomerIdentity.objects.create(customer=make_customer("钱多"), kind="phone", value="12345")
    short_mobile = CustomerIdentity.objects.create(customer=make_customer("吴用"), kind="phone", value="+86138001")
    # A sloppy copy of a number the same customer already holds in clean form is dropped.
    copy = CustomerIdentity.objects.create(customer=clean["sh"], kind="phone", value="+86 138-0013-8000")
    # A sloppy copy of another customer's number is left for the duplicate review.
    theirs = CustomerIdentity.objects.create(customer=fixable, kind="phone", value="139 0013 9000")
    assert get_check("invalid_phone").count(users["admin"]) == 5
    before = snapshot()

    response = post_fix(client_for("service"), "invalid_phone")
    assert response.status_code == 302
    run = FixRun.objects.get()
    assert (run.status, run.candidates, run.changed) == (FixStatus.SUCCEEDED, 5, 2)
    assert CustomerIdentity.objects.filter(customer=fixable, kind="phone").values_list("value", flat=True).first() in (
        "+8613800138001",
        "139 0013 9000",
    )
    assert CustomerIdentity.objects.filter(customer=fixable, value="+8613800138001").exists()
    assert not CustomerIdentity.objects.filter(pk=copy.pk).exists()
    for untouched in (broken, short_mobile, theirs):
        assert CustomerIdentity.objects.get(pk=untouched.pk).value == untouched.value
    after = snapshot()
    assert after["customers"] == before["customers"] and after["addresses"] == before["addresses"]
    assert get_check("invalid_phone").count(users["admin"]) == 3
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id="quality:invalid_phone")
    assert event.actor_label == "service" and len(event.after["records"]) == 2


@pytest.mark.django_db
def test_it_renormalises_emails(users: dict[str, Any], client_for: Any, clean: dict[str, Customer]) -> None:
    customer = make_customer("郑红")
    upper = CustomerIdentity.objects.create(customer=customer, kind="email", value="Zheng.Hong@Example.COM")
    junk = CustomerIdentity.objects.create(customer=make_customer("冯刚"), kind="email", value="not-an-email")
    assert get_check("invalid_email").count(users["admin"]) == 2
    post_fix(client_for("admin"), "invalid_email")
    assert CustomerIdentity.objects.get(pk=upper.pk).value == "zheng.hong@example.com"
    assert CustomerIdentity.objects.get(pk=junk.pk).value == "not-an-email"
    assert CustomerIdentity.objects.get(customer=clean["sh"], kind="email").value == "wang.fang@example.com"


@pytest.mark.django_db
def test_it_lists_customers_with_missing_data(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    nobody = make_customer("无名")
    Customer.objects.filter(pk=nobody.pk).update(name="  ")
    unreachable = make_customer("王五")
    found = counts(users["admin"])
    assert (found["no_contact"], found["no_name"]) == (2, 1)
    page = client_for("analyst").get("/quality/no_contact/")
    assert page.status_code == 200
    assert f"/customers/{unreachable.pk}/".encode() in page.content
    # No automatic fix: the button is absent and a forced post is refused without a change.
    assert b"/quality/no_contact/fix" not in page.content
    before = snapshot()
    response = post_fix(client_for("admin"), "no_contact")
    assert response.status_code == 302 and snapshot() == before and not FixRun.objects.exists()


@pytest.mark.django_db
def test_it_sets_the_home_store_from_the_latest_store_purchase(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer], ref: dict[str, Any]
) -> None:
    walk_in = make_customer("路人甲", phone="13300133000")
    make_order(walk_in, channel="store", store="bj-01", ordered_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    make_order(walk_in, channel="store", store="hz-01", ordered_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    online = make_customer("网购乙", phone="13300133001")
    make_order(online, channel="web")
    assert get_check("no_home_store").count(users["admin"]) == 1
    before = snapshot()
    post_fix(client_for("admin"), "no_home_store")
    walk_in.refresh_from_db()
    assert walk_in.home_store_id == ref["stores"]["hz-01"].pk
    assert Customer.objects.get(pk=online.pk).home_store_id is None
    changed = {row[0] for row in set(snapshot()["customers"]) ^ set(before["customers"])}
    assert changed == {walk_in.pk}


@pytest.mark.django_db
def test_it_recomputes_drifted_purchase_figures_and_nothing_else(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    Customer.objects.filter(pk=clean["sh"].pk).update(order_count=7, total_spent=Decimal("1.00"))
    Customer.objects.filter(pk=clean["bj"].pk).update(last_order_at=None)
    assert get_check("stats_drift").count(users["admin"]) == 2
    drifted = client_for("analyst").get("/quality/stats_drift/")
    assert b"cached 7 orders" in drifted.content
    post_fix(client_for("sales"), "stats_drift")
    sh = Customer.objects.get(pk=clean["sh"].pk)
    assert (sh.order_count, sh.total_spent) == (1, Decimal("1234.00"))
    assert Customer.objects.get(pk=clean["bj"].pk).last_order_at == clean["bj"].last_order_at
    assert get_check("stats_drift").count(users["admin"]) == 0
    assert FixRun.objects.get().changed == 2


@pytest.mark.django_db
def test_it_corrects_the_province_of_a_known_city(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    wrong = Address.objects.create(customer=clean["sh"], province="江苏省", city="杭州市", detail="文三路1号")
    right = Address.objects.create(customer=clean["sh"], province="浙江", city="杭州", detail="文三路2号")
    unknown = Address.objects.create(customer=clean["sh"], province="浙江省", city="某某市", detail="x")
    municipality = Address.objects.create(customer=clean["bj"], province="北京市", city="北京市", detail="y")
    assert get_check("city_outside_province").count(users["admin"]) == 1
    post_fix(client_for("admin"), "city_outside_province")
    assert Address.objects.get(pk=wrong.pk).province == "浙江省"
    for untouched in (right, unknown, municipality):
        assert Address.objects.get(pk=untouched.pk).province == untouched.province


@pytest.mark.django_db
def test_it_reports_orders_whose_paid_amount_does_not_match_their_lines(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    order = clean["sh"].orders.get()
    Order.objects.filter(pk=order.pk).update(paid_amount=Decimal("1000.00"))
    assert get_check("order_amount_mismatch").count(users["admin"]) == 1
    assert get_check("order_amount_mismatch").count(users["store_manager"]) == 1
    Order.objects.filter(pk=order.pk).update(paid_amount=Decimal("1034.00"), discount_amount=Decimal("200.00"))
    assert get_check("order_amount_mismatch").count(users["admin"]) == 0
    Order.objects.filter(pk=clean["bj"].orders.get().pk).update(paid_amount=Decimal("1.00"))
    assert get_check("order_amount_mismatch").count(users["store_manager"]) == 0
    page = client_for("admin").get("/quality/order_amount_mismatch/")
    assert f"/orders/{clean['bj'].orders.get().pk}/".encode() in page.content


@pytest.mark.django_db
def test_it_groups_likely_duplicates(users: dict[str, Any], client_for: Any, clean: dict[str, Customer]) -> None:
    a = make_customer("刘洋", birthday=dt.date(1990, 5, 1))
    b = make_customer("刘洋", birthday=dt.date(1990, 5, 1))
    make_customer("刘洋", birthday=dt.date(1991, 5, 1))
    c = make_customer("何静")
    d = make_customer("何静")
    for customer in (c, d):
        Address.objects.create(
            customer=customer, province="上海市", city="上海市", district="徐汇区", detail="漕溪北路1号"
        )
    found = counts(users["admin"])
    assert (found["same_name_birthday"], found["same_name_address"]) == (1, 1)
    page = client_for("analyst").get("/quality/same_name_birthday/")
    assert f"/customers/{a.pk}/".encode() in page.content and f"/customers/{b.pk}/".encode() in page.content
    page = client_for("analyst").get("/quality/same_name_address/")
    assert f"/customers/{c.pk}/".encode() in page.content and f"/customers/{d.pk}/".encode() in page.content
    assert "漕溪北路".encode() not in page.content  # street addresses stay masked


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_shows_the_page_to_every_role_but_lets_only_editors_fix(
    role: str, client_for: Any, clean: dict[str, Customer]
) -> None:
    Customer.objects.filter(pk=clean["sh"].pk).update(order_count=9)
    client = client_for(role)
    page = client.get("/quality/")
    assert page.status_code == 200
    assert b'data-check="stats_drift"' in page.content
    assert b'data-count="1"' in client.get("/quality/stats_drift/count").content
    detail = client.get("/quality/stats_drift/")
    assert detail.status_code == 200
    assert (b"/quality/stats_drift/fix" in detail.content) == (role in EDITORS)
    before = snapshot()
    response = post_fix(client, "stats_drift")
    if role in EDITORS:
        assert response.status_code == 302
        assert Customer.objects.get(pk=clean["sh"].pk).order_count == 1
    else:
        assert response.status_code == 403
        assert snapshot() == before
        assert not FixRun.objects.exists()
        assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


@pytest.mark.django_db
def test_it_scopes_checks_and_fixes_to_a_store_managers_stores(
    users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    Customer.objects.filter(pk__in=[clean["sh"].pk, clean["bj"].pk]).update(order_count=9)
    assert get_check("stats_drift").count(users["store_manager"]) == 1
    assert get_check("stats_drift").count(users["admin"]) == 2
    assert b'data-count="2"' in client_for("admin").get("/quality/stats_drift/count").content
    post_fix(client_for("store_manager"), "stats_drift")
    assert Customer.objects.get(pk=clean["sh"].pk).order_count == 1
    assert Customer.objects.get(pk=clean["bj"].pk).order_count == 9
    page = client_for("store_manager").get("/quality/stats_drift/")
    assert f"/customers/{clean['bj'].pk}/".encode() not in page.content
    # The fix dropped the cached counts: the company-wide count is fresh, not the cached 2.
    assert b'data-count="1"' in client_for("admin").get("/quality/stats_drift/count").content


@pytest.mark.django_db
def test_it_runs_large_fixes_in_the_background_with_progress(
    settings: Any,
    users: dict[str, Any],
    client_for: Any,
    clean: dict[str, Customer],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.QUALITY_FIX_SYNC_LIMIT = 0
    Customer.objects.filter(pk=clean["sh"].pk).update(order_count=9)
    client = client_for("admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_fix(client, "stats_drift")
    run = FixRun.objects.get()
    assert response["Location"] == f"/quality/fixes/{run.pk}/"
    assert run.status == FixStatus.QUEUED
    assert b"hx-trigger" in client.get(f"/quality/fixes/{run.pk}/").content
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    assert (run.status, run.processed, run.changed, run.progress) == (FixStatus.SUCCEEDED, 1, 1, 100)
    card = client.get(f"/quality/fixes/{run.pk}/", HTTP_HX_REQUEST="true")
    assert b"1 records changed" in card.content
    assert client_for("sales").get(f"/quality/fixes/{run.pk}/").status_code == 404
    assert Customer.objects.get(pk=clean["sh"].pk).order_count == 1


@pytest.mark.django_db
def test_it_answers_bad_input_without_a_500(client_for: Any, clean: dict[str, Customer]) -> None:
    client = client_for("admin")
    assert client.get("/quality/nonsense/").status_code == 404
    assert client.post("/quality/nonsense/fix").status_code == 404
    assert client.get("/quality/stats_drift/fix").status_code == 405
    assert client.get("/quality/fixes/999/").status_code == 404
    assert client.get("/quality/?refresh=yes&x=%zz").status_code == 200
    assert client.get("/quality/nonsense/count").status_code == 404
    assert Client().get("/quality/").status_code == 302


@pytest.mark.django_db
def test_it_links_to_the_review_queue_only_when_it_exists(client_for: Any, clean: dict[str, Customer]) -> None:
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("identity:review")
    except NoReverseMatch:
        url = None
    page = client_for("admin").get("/quality/").content
    assert (url is not None) == (b"Open the review queue" in page)


@pytest.mark.django_db
def test_it_counts_heavy_checks_in_the_background_and_polls_until_done(
    settings: Any, users: dict[str, Any], client_for: Any, clean: dict[str, Customer]
) -> None:
    from kehu.quality.models import CheckCount
    from kehu.quality.tasks import count_check_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    Customer.objects.filter(pk=clean["sh"].pk).update(order_count=9)
    client = client_for("analyst")
    assert get_check("stats_drift").heavy and not get_check("no_name").heavy
    pending = client.get("/quality/stats_drift/count").content
    assert b'hx-trigger="every 3s"' in pending and b"data-count" not in pending
    assert b'hx-trigger="every 3s"' in client.get("/quality/stats_drift/count").content  # not asked twice
    assert CheckCount.objects.get(check_key="stats_drift").pending
    assert b'data-count="0"' in client.get("/quality/no_name/count").content  # light: counted at once
    count_check_task.call(users["analyst"].pk, "stats_drift")  # what the worker does
    done = client.get("/quality/stats_drift/count").content
    assert b'data-count="1"' in done and b"every 3s" not in done
