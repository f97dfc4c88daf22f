"""The demo-data generator: one run of 1,500 customers, checked for the invariants the CRM relies on."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from kehu.commerce.models import (
    PURCHASE_STATUSES,
    Channel,
    ChannelKind,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductCategory,
    Region,
    Return,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
    Store,
)
from kehu.customers.actions import purchase_stats_drift
from kehu.customers.models import (
    Address,
    Customer,
    CustomerIdentity,
    CustomerKind,
    Household,
    IdentityKind,
    Interaction,
    InteractionKind,
    SearchToken,
)
from kehu.customers.search import name_tokens
from kehu.demo.generate import DemoDataExists, GenerationResult, generate
from kehu.privacy.models import Consent, ConsentEvent

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 1, 20, 8, 0, tzinfo=SHANGHAI)
CUSTOMERS = 1500


@pytest.fixture(scope="module")
def run(django_db_setup: Any, django_db_blocker: Any) -> Iterator[GenerationResult]:
    """Generate once for the module (committed, like the command does), flush afterwards."""
    with django_db_blocker.unblock():
        with translation.override("zh-hans"):
            result = generate(customers=CUSTOMERS, seed=11, now=NOW, chunk_size=600)
        try:
            yield result
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def local_date(value: dt.datetime) -> dt.date:
    return value.astimezone(SHANGHAI).date()


def test_it_reports_the_rows_it_wrote(run: GenerationResult) -> None:
    assert run.rows[Customer._meta.db_table] == CUSTOMERS == Customer.objects.count()
    for model in (Order, OrderLine, Return, Shipment, ShipmentEvent, Interaction, CustomerIdentity, Address):
        assert run.rows[model._meta.db_table] == model.objects.count(), model
    assert run.total_rows == sum(run.rows.values())
    assert Order.objects.count() > 8 * CUSTOMERS


def test_it_creates_the_reference_data(run: GenerationResult) -> None:
    assert set(Channel.objects.values_list("code", "kind")) == {
        ("web", ChannelKind.WEB),
        ("app", ChannelKind.APP),
        ("mini_program", ChannelKind.MINI_PROGRAM),
        ("store", ChannelKind.STORE),
        ("call_centre", ChannelKind.CALL_CENTRE),
        ("marketplace", ChannelKind.MARKETPLACE),
    }
    assert set(Region.objects.values_list("name", flat=True)) == {
        "华东",
        "华北",
        "华南",
        "华中",
        "西南",
        "西北",
        "东北",
    }
    assert Store.objects.count() == 51
    assert Store.objects.get(code="sh-001").name == "上海南京路店"
    assert set(Store.objects.values_list("region__code", flat=True)) == set(
        Region.objects.values_list("code", flat=True)
    )
    assert set(ProductCategory.objects.values_list("code", "name")) == {
        ("menswear", "男装"),
        ("womenswear", "女装"),
        ("kids", "童装"),
        ("shoes", "鞋履"),
        ("accessories", "配饰"),
        ("home", "家居"),
    }
    assert Product.objects.count() == 300
    assert Product.objects.filter(cost__gte=F("price")).count() == 0


def test_it_keeps_purchase_figures_consistent_with_orders(run: GenerationResult) -> None:
    assert purchase_stats_drift() == 0
    real = {
        row["customer_id"]: row
        for row in Order.objects.filter(status__in=PURCHASE_STATUSES)
        .values("customer_id")
        .annotate(
            n=Count("id"),
            first=Min("ordered_at"),
            last=Max("ordered_at"),
            net=Sum("paid_amount") - Sum("refunded_amount"),
        )
    }
    for customer in Customer.objects.all():
        row = real.get(customer.pk)
        if row is None:
            assert (customer.order_count, customer.total_spent, customer.first_order_at) == (0, Decimal("0.00"), None)
        else:
            assert (customer.order_count, customer.first_order_at, customer.last_order_at) == (
                row["n"],
                row["first"],
                row["last"],
            )
    assert len(real) > 0.85 * CUSTOMERS


def test_it_mixes_customer_kinds_and_leads_never_buy(run: GenerationResult) -> None:
    kinds = Counter(Customer.objects.values_list("kind", flat=True))
    assert set(kinds) == set(CustomerKind.values)
    assert kinds[CustomerKind.CONSUMER] > 0.8 * CUSTOMERS
    assert Order.objects.filter(customer__kind=CustomerKind.LEAD).count() == 0
    assert Customer.objects.filter(kind__in=["b2b", "distributor"]).exclude(party_type="organisation").count() == 0
    assert Household.objects.annotate(n=Count("members")).filter(n__lt=2).count() == 0
    assert Household.objects.count() > 0


def test_it_gives_customers_valid_unique_identities(run: GenerationResult) -> None:
    phones = list(CustomerIdentity.objects.filter(kind=IdentityKind.PHONE).values_list("value", flat=True))
    assert len(phones) > 0.9 * CUSTOMERS
    assert len(set(phones)) == len(phones)
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone
        assert phone.startswith("+861") and len(phone) == 14
    for kind in (IdentityKind.EMAIL, IdentityKind.MEMBER_CARD, IdentityKind.WECHAT_OPENID, IdentityKind.POS_ID):
        values = list(CustomerIdentity.objects.filter(kind=kind).values_list("value", flat=True))
        assert values, kind
        assert len(set(values)) == len(values), kind
    openids = CustomerIdentity.objects.filter(kind=IdentityKind.WECHAT_OPENID).values_list("value", flat=True)
    assert {len(v) for v in openids} == {28}
    emails = CustomerIdentity.objects.filter(kind=IdentityKind.EMAIL).values_list("value", flat=True)
    assert all(e == e.lower() and e.count("@") == 1 for e in emails)
    # One primary phone at most per customer.
    assert (
        not CustomerIdentity.objects.filter(is_primary=True).values("customer").annotate(n=Count("id")).filter(n__gt=1)
    )


def test_it_keeps_order_money_consistent(run: GenerationResult) -> None:
    assert Order.objects.filter(refunded_amount__gt=F("paid_amount")).count() == 0
    assert Order.objects.filter(status=OrderStatus.REFUNDED).exclude(refunded_amount=F("paid_amount")).count() == 0
    partial = Order.objects.filter(status=OrderStatus.PARTIALLY_REFUNDED)
    assert partial.count() > 0
    assert partial.filter(Q(refunded_amount__lte=0) | Q(refunded_amount__gte=F("paid_amount"))).count() == 0
    assert Order.objects.filter(status=OrderStatus.CANCELLED).exclude(paid_amount=0).count() == 0
    paid = Order.objects.exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.PENDING])
    assert paid.exclude(paid_amount=F("total_amount") - F("discount_amount")).count() == 0
    line_totals = dict(OrderLine.objects.values("order_id").annotate(s=Sum("amount")).values_list("order_id", "s"))
    for order_id, total in Order.objects.values_list("id", "total_amount"):
        assert line_totals[order_id] == total
    assert OrderLine.objects.exclude(amount=F("unit_price") * F("quantity")).count() == 0
    statuses = Counter(Order.objects.values_list("status", flat=True))
    assert statuses[OrderStatus.COMPLETED] > 0.85 * sum(statuses.values())
    assert statuses[OrderStatus.CANCELLED] > 0 and statuses[OrderStatus.REFUNDED] > 0
    returns = Return.objects.count() / Order.objects.count()
    assert 0.05 <= returns <= 0.08
    assert Return.objects.exclude(customer_id=F("order__customer_id")).count() == 0
    assert Order.objects.filter(ordered_at__gt=NOW).count() == 0
    numbers = list(Order.objects.values_list("number", "source_id", "source_system", "channel__code"))
    assert len({n for n, *_ in numbers}) == len(numbers)
    prefix = {"web": "W", "app": "A", "mini_program": "M", "store": "S", "call_centre": "C", "marketplace": "T"}
    assert all(n == s and system == "demo" and n[0] == prefix[c] and len(n) == 16 for n, s, system, c in numbers)


def test_it_ships_online_orders_and_serves_store_orders_in_stores(run: GenerationResult) -> None:
    store_orders = Order.objects.filter(channel__kind=ChannelKind.STORE)
    online = Order.objects.exclude(channel__kind=ChannelKind.STORE)
    assert store_orders.filter(store=None).count() == 0
    assert online.exclude(store=None).count() == 0
    assert Shipment.objects.filter(order__channel__kind=ChannelKind.STORE).count() == 0
    sent = online.exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.PENDING])
    assert Shipment.objects.count() == sent.count()
    assert Shipment.objects.values("order").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    delivered = Shipment.objects.filter(status=ShipmentStatus.DELIVERED)
    assert delivered.filter(delivered_at=None).count() == 0
    assert delivered.filter(delivered_at__lt=F("shipped_at")).count() == 0
    late = delivered.filter(delivered_at__gt=F("promised_by")).count() / delivered.count()
    assert 0.05 < late < 0.25
    # Tracking events for the last 6 months only, ending with the parcel's current status.
    recent = Shipment.objects.filter(shipped_at__gte=NOW - dt.timedelta(days=6 * 30.44))
    assert ShipmentEvent.objects.exclude(shipment__in=recent).count() == 0
    last_event = {}
    for shipment_id, status in ShipmentEvent.objects.order_by("shipment_id", "at").values_list("shipment_id", "status"):
        last_event[shipment_id] = status
    for shipment_id, status in recent.values_list("id", "status"):
        assert last_event[shipment_id] == status
    assert ShipmentEvent.objects.filter(at__gt=NOW).count() == 0


def test_it_writes_the_timeline(run: GenerationResult) -> None:
    kinds = Counter(Interaction.objects.values_list("kind", flat=True))
    # Orders reach the timeline from the order table itself (ADR 0006).
    assert kinds == {
        InteractionKind.REGISTRATION: CUSTOMERS,
        InteractionKind.RETURN: Return.objects.count(),
        InteractionKind.SHIPMENT: Shipment.objects.exclude(shipped_at=None).count(),
    }
    entry = Interaction.objects.filter(kind=InteractionKind.RETURN).order_by("id").first()
    assert entry is not None
    returned = Return.objects.select_related("order").get(pk=entry.ref_id)
    assert (entry.ref_type, entry.customer_id, entry.occurred_at, entry.channel_id) == (
        "return",
        returned.customer_id,
        returned.requested_at,
        returned.order.channel_id,
    )
    with translation.override("zh-hans"):
        title = _("Exchange %(number)s") if returned.kind == "exchange" else _("Return %(number)s")
        assert entry.title == title % {"number": returned.source_id}
    assert Interaction.objects.filter(ref_type="return").exclude(ref_id__in=Return.objects.values("id")).count() == 0
    assert (
        Interaction.objects.filter(ref_type="shipment").exclude(ref_id__in=Shipment.objects.values("id")).count() == 0
    )
    # Nobody registers after their first purchase.
    assert Customer.objects.filter(created_at__gt=F("first_order_at")).count() == 0


def test_it_shows_the_shopping_calendar(run: GenerationResult) -> None:
    per_day = Counter(local_date(t) for t in Order.objects.values_list("ordered_at", flat=True))
    per_month = Counter((d.year, d.month) for d in per_day.elements())
    # The customer base grows, so November is compared with the summer before it.
    for year in (2024, 2025):
        summer = statistics.mean(per_month[(year, month)] for month in (7, 8, 9))
        assert per_month[(year, 11)] > 1.25 * summer, year
    median_day = statistics.median(per_day.values())
    assert per_day[dt.date(2025, 11, 11)] > 3 * median_day
    assert per_day[dt.date(2025, 6, 18)] > 2 * median_day
    # The Spring Festival holiday (Chinese New Year 2025: 29 January) is quiet.
    holiday = [per_day[dt.date(2025, 1, 29) + dt.timedelta(days=i)] for i in range(-5, 5)]
    assert statistics.mean(holiday) < 0.7 * median_day


def test_it_indexes_names_for_search(run: GenerationResult) -> None:
    tokens = defaultdict(set)
    for customer_id, token in SearchToken.objects.values_list("customer_id", "token"):
        tokens[customer_id].add(token)
    for customer_id, name in Customer.objects.values_list("id", "name"):
        assert tokens[customer_id] == name_tokens(name), name


def test_it_records_consent_in_the_ledger(run: GenerationResult) -> None:
    assert Consent.objects.count() > 0
    latest: dict[tuple[int, str, str], str] = {}
    for key in ConsentEvent.objects.order_by("recorded_at", "id").values_list(
        "customer_id", "channel", "purpose", "status"
    ):
        latest[key[:3]] = key[3]
    current = {
        (c, ch, p): s for c, ch, p, s in Consent.objects.values_list("customer_id", "channel", "purpose", "status")
    }
    assert latest == current
    assert set(current.values()) == {"granted", "withdrawn"}


def test_it_refuses_to_generate_over_existing_demo_data(run: GenerationResult) -> None:
    with pytest.raises(DemoDataExists):
        generate(customers=10, seed=1, now=NOW)
    assert Customer.objects.count() == CUSTOMERS
