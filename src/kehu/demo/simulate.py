"""Vectorised simulation of one chunk of demo customers and everything they did.

Purchases follow a buy-till-you-die process (BG/NBD): customer i buys at acquisition, then repeats
as a Poisson process with rate λ_i ~ Gamma, and after each repeat purchase drops out with probability
p_i ~ Beta. The process runs in "operational time" (the integral of the seasonal calendar), so
mapping event times back through the calendar gives 双11, 618 and the Spring Festival without
thinning. Order values are Gamma-distributed around a per-customer mean (Gamma-Gamma), categories
follow a per-customer Dirichlet preference. Everything is arrays; no Python loop runs per row except
for the few unique names being tokenised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db.models import Model
from django.utils.translation import gettext as _
from faker.providers.person.zh_CN import Provider as ChineseNames

from kehu.commerce.models import (
    PURCHASE_STATUSES,
    Order,
    OrderLine,
    OrderStatus,
    Return,
    ReturnKind,
    ReturnStatus,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
)
from kehu.customers.models import (
    Address,
    Customer,
    CustomerIdentity,
    CustomerKind,
    Household,
    IdentityKind,
    Interaction,
    InteractionKind,
    PartyType,
    SearchToken,
)
from kehu.customers.search import name_tokens
from kehu.demo.bulk import dates, ints, money, timestamps
from kehu.demo.reference import (
    CHANNEL_ORDER_PREFIX,
    CHANNEL_PREFERENCE,
    CITIES,
    COMPOUNDS,
    STORE_CHANNEL,
    STREETS,
    TAGS,
    Reference,
)
from kehu.demo.seasons import Calendar
from kehu.privacy.models import Consent as ConsentModel
from kehu.privacy.models import ConsentEvent, ConsentStatus, ContactChannel, Purpose

SOURCE = "demo"
DAY = 86_400
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving time since 1991
Table = tuple[type[Model], dict[str, pa.Array]]

KINDS = [
    CustomerKind.CONSUMER,
    CustomerKind.LEAD,
    CustomerKind.PARTNER_CUSTOMER,
    CustomerKind.DISTRIBUTOR,
    CustomerKind.B2B,
]
KIND_SHARE = np.array([0.865, 0.09, 0.025, 0.005, 0.015])
LEAD, DISTRIBUTOR, B2B = 1, 3, 4
# Mean purchases per year by kind (a lead never buys).
KIND_RATE = np.array([18.0, 0.0, 11.0, 18.0, 10.0])
GENDERS = ["F", "M", ""]
# Category preference (Dirichlet α) over menswear, womenswear, kids, shoes, accessories, home.
CATEGORY_ALPHA = np.array(
    [
        [0.3, 3.0, 1.0, 1.5, 1.5, 0.8],  # women
        [3.0, 0.3, 0.8, 1.5, 1.0, 0.5],  # men
        [1.5, 1.5, 0.8, 1.0, 1.0, 0.7],  # unknown, organisations
    ]
)
# Hour-of-day weights: online peaks at lunch and late evening, stores follow opening hours.
ONLINE_HOURS = np.array(
    [
        1.2,
        0.6,
        0.3,
        0.15,
        0.1,
        0.1,
        0.2,
        0.5,
        0.9,
        1.2,
        1.5,
        1.5,
        1.6,
        1.4,
        1.3,
        1.3,
        1.3,
        1.2,
        1.3,
        1.6,
        2.0,
        2.3,
        2.1,
        1.6,
    ]
)
STORE_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 1.0, 1.2, 1.2, 1.5, 1.6, 1.5, 1.3, 1.4, 1.7, 1.6, 0.9, 0, 0])
CARRIERS = [
    ("顺丰速运", "SF"),
    ("中通快递", "ZT"),
    ("圆通速递", "YT"),
    ("韵达快递", "YD"),
    ("京东物流", "JDV"),
    ("中国邮政EMS", "EM"),
]
CARRIER_SHARE = np.array([0.3, 0.2, 0.15, 0.12, 0.13, 0.1])
CARRIER_PROMISE_DAYS = np.array([2, 3, 3, 3, 2, 4])
# Sorting centre serving each region (east, north, south, central, southwest, northwest, northeast).
REGION_HUB = ["上海", "天津", "广州", "武汉", "成都", "西安", "沈阳"]
RETURN_REASONS = ["尺码不合适", "颜色与图片不符", "质量问题", "不喜欢款式", "发错货", "物流太慢"]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com", "gmail.com"]
EMAIL_DOMAIN_SHARE = np.array([0.35, 0.25, 0.1, 0.05, 0.1, 0.08, 0.07])
PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        175,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        184,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ]
)
ORG_WORDS = ["锦程", "华盛", "恒泰", "鼎新", "瑞丰", "嘉禾", "宏达", "博雅", "星辰", "新纪元", "长青", "汇通"]
ORG_SUFFIXES = [
    "服饰有限公司",
    "贸易有限公司",
    "商贸有限公司",
    "科技有限公司",
    "文化传媒有限公司",
    "供应链管理有限公司",
]
DISTRIBUTOR_SUFFIX = "服饰经销有限公司"

# Category that completes a basket, by category index (menswear, womenswear, kids, shoes,
# accessories, home): menswear -> shoes, womenswear -> accessories, kids -> home, and back.
COMPLEMENT = np.array([3, 4, 5, 0, 1, 2])


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _pick(options: pa.Array, index: np.ndarray) -> pa.Array:
    return options.take(pa.array(np.asarray(index, dtype=np.int64)))


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _digits(values: np.ndarray, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def _const(value: Any, n: int, kind: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=kind), n)


def _fill(template: str, value: pa.Array) -> pa.Array:
    """`template % {…: value}` for a column of values; the template has one `%(…)s` placeholder."""
    start = template.index("%(")
    end = template.index(")s", start) + 2
    return _join(template[:start], value, template[end:])


def _ragged_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of `counts` items: the group of each item and its position inside the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    return group, position


def _choice(rng: np.random.Generator, share: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(share / share.sum()), rng.random(n), side="right").clip(0, len(share) - 1)


class Scramble:
    """A bijection of [0, modulus): x ↦ (a·x + b) mod modulus with a coprime to 10, so sequential
    ids become random-looking but never colliding phone numbers, cards and tracking numbers."""

    def __init__(self, rng: np.random.Generator, modulus: int) -> None:
        assert modulus <= 10**12
        self.modulus = modulus
        a = int(rng.integers(modulus // 10, modulus)) | 1
        self.a = a + 2 if a % 5 == 0 else a
        self.b = int(rng.integers(0, modulus))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64) % self.modulus
        result = np.zeros_like(x)
        # Multiply three digits of `a` at a time so no intermediate exceeds int64.
        text = str(self.a).zfill(12)
        for i in range(0, 12, 3):
            result = (result * 1000 + int(text[i : i + 3]) * x) % self.modulus
        return (result + self.b) % self.modulus


@dataclass
class Settings:
    """Run-wide inputs of the simulation (times in seconds since the epoch, UTC)."""

    now: int
    start: int
    tracking_since: int
    calendar: Calendar
    reference: Reference
    phone_scramble: Scramble
    card_scramble: Scramble
    email_scramble: Scramble
    tracking_scramble: Scramble
    openid_scramble: Scramble
    taken: dict[str, set[str]]


@dataclass
class Cursor:
    """Where the run's sequences stand before a chunk: run-wide indexes and the next ids."""

    customers: int = 0
    orders: int = 0
    shipments: int = 0
    returns: int = 0
    households: int = 0
    customer_id: int = 0
    order_id: int = 0
    shipment_id: int = 0
    return_id: int = 0
    household_id: int = 0


_SURNAMES = list(ChineseNames.last_names)
_SURNAME_SHARE = np.array(list(ChineseNames.last_names.values()))
_GIVEN = [list(ChineseNames.first_names_female), list(ChineseNames.first_names_male), list(ChineseNames.first_names)]
_SINGLE = [[g for g in names if len(g) == 1] for names in _GIVEN]
_ROMAN_GIVEN = [n.lower() for n in ChineseNames.first_romanized_names]
_ROMAN_SURNAME = [n.lower() for n in ChineseNames.last_romanized_names]


class ChunkSimulation:
    """Simulates `n` customers starting at `cursor` and produces the rows of every table."""

    def __init__(self, settings: Settings, cursor: Cursor, n: int, rng: np.random.Generator) -> None:
        self.s = settings
        self.ref = settings.reference
        self.c = cursor
        self.n = n
        self.rng = rng
        self.tables: list[Table] = []

    # --- customers ---------------------------------------------------------------------------
    def run(self) -> list[Table]:
        self._customers()
        self._orders()
        self._lines()
        self._statuses()
        self._shipments()
        self._returns()
        self._stats()
        self._emit()
        return self.tables

    def _customers(self) -> None:
        rng, n, cal = self.rng, self.n, self.s.calendar
        self.index = self.c.customers + np.arange(n)
        self.ids = self.c.customer_id + np.arange(n)
        self.kind = _choice(rng, KIND_SHARE, n)
        self.org = (self.kind == DISTRIBUTOR) | (self.kind == B2B)
        gender = _choice(rng, np.array([0.56, 0.40, 0.04]), n)
        self.gender = np.where(self.org, 2, gender)
        self.city = _choice(rng, np.array([c[4] for c in CITIES]), n)
        self._households()
        self.region = self.ref.city_region[self.city]
        # Acquisition: more customers recently (the brand grows), and more on shopping festivals.
        op_start = cal.to_operational(np.array([(self.s.start + LOCAL_OFFSET) / DAY]))[0]
        op_now = cal.to_operational(np.array([(self.s.now + LOCAL_OFFSET) / DAY]))[0]
        self.op_acquired = op_start + (op_now - op_start) * rng.random(n) ** (1 / 1.3)
        self.op_exposure = op_now - self.op_acquired
        # Channels: the preferred one, a home store for store customers.
        pref = _choice(rng, CHANNEL_PREFERENCE, n)
        self.preferred = np.where(self.org, np.where(rng.random(n) < 0.5, 0, 4), pref)
        self.home_store = self._stores_near(self.city, rng.random(n))
        self.has_home_store = (self.preferred == STORE_CHANNEL) | (rng.random(n) < 0.15)
        # Purchase process parameters.
        rate = KIND_RATE[self.kind] / 365.0
        self.rate = rng.gamma(1.1, 1.0 / 1.1, n) * rate
        self.dropout = rng.beta(1.2, 13.0, n)
        mean_value = rng.gamma(2.5, 42_000 / 2.5, n)  # cents
        self.mean_value = np.where(self.org, mean_value * 25, mean_value)
        alpha = CATEGORY_ALPHA[self.gender]
        prefs = rng.gamma(alpha)
        self.category_cdf = np.cumsum(prefs / prefs.sum(axis=1, keepdims=True), axis=1)

    def _stores_near(self, city: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A store in the customer's city, else one in their region."""
        store_region = self.ref.city_region[self.ref.store_city]
        result = np.zeros(len(city), dtype=np.int64)
        for c in range(len(CITIES)):
            mask = city == c
            if not mask.any():
                continue
            candidates = np.flatnonzero(self.ref.store_city == c)
            if len(candidates) == 0:
                candidates = np.flatnonzero(store_region == self.ref.city_region[c])
            result[mask] = candidates[(u[mask] * len(candidates)).astype(np.int64)]
        return result

    # --- orders ------------------------------------------------------------------------------
    def _orders(self) -> None:
        rng, cal = self.rng, self.s.calendar
        buyer = self.kind != LEAD
        possible = rng.poisson(self.rate * self.op_exposure)
        survives = rng.geometric(self.dropout)  # repeat purchases before dropping out
        dead = possible > survives
        repeats = np.minimum(np.where(dead, survives, possible), 400)
        self.order_count_all = np.where(buyer, 1 + repeats, 0)
        cust, pos = _ragged_index(self.order_count_all)
        # Time of the last purchase before dropping out: the K-th of N uniform arrivals.
        k = np.maximum(survives, 1).astype(np.float64)
        last = self.op_acquired + self.op_exposure * rng.beta(k, np.maximum(possible - survives, 0) + 1.0)
        span = np.where(dead, last - self.op_acquired, self.op_exposure)
        op = self.op_acquired[cust] + rng.random(len(cust)) * span[cust]
        op = np.where(dead[cust] & (pos == repeats[cust]), last[cust], op)
        op = np.where(pos == 0, self.op_acquired[cust], op)
        order = np.lexsort((op, cust))
        cust, op = cust[order], op[order]
        no = len(cust)
        self.o_cust = cust
        day = np.floor(cal.from_operational(op)).astype(np.int64)
        # After the sort each customer's acquisition order is still the first of their group.
        first = np.zeros(no, dtype=bool)
        starts = np.cumsum(self.order_count_all) - self.order_count_all
        first[starts[self.order_count_all > 0]] = True
        self.o_first = first
        # Channel: mostly the customer's preferred one; the first order always is.
        other = _choice(rng, CHANNEL_PREFERENCE, no)
        channel = np.where(first | (rng.random(no) < 0.7), self.preferred[cust], other)
        self.o_channel = channel
        store_order = channel == STORE_CHANNEL
        near = self._stores_near(self.city[cust], rng.random(no))
        self.o_store = np.where(self.has_home_store[cust] & (rng.random(no) < 0.85), self.home_store[cust], near)
        # Time of day by channel; on 双11 a quarter of online orders land in the first hour.
        hours = np.where(store_order, _choice(rng, STORE_HOURS, no), _choice(rng, ONLINE_HOURS, no))
        month_day = _month_day(day)
        midnight = (month_day == 1111) & ~store_order & (rng.random(no) < 0.25)
        hours = np.where(midnight, 0, hours)
        local = day * DAY + hours * 3600 + rng.integers(0, 3600, no)
        now_local = self.s.now + LOCAL_OFFSET
        local = np.where(local >= now_local, now_local - rng.integers(60, 3600, no), local)
        self.o_time = local - LOCAL_OFFSET
        self.o_local_day = local // DAY
        self.o_promo = np.isin(month_day, PROMO_DAYS)
        self.o_ids = self.c.order_id + np.arange(no)
        self.o_seq = self.c.orders + 1 + np.arange(no)

    def _lines(self) -> None:
        rng = self.rng
        cust, no = self.o_cust, len(self.o_cust)
        org = self.org[cust]
        lines = (
            np.where(
                org,
                _choice(rng, np.array([0.3, 0.3, 0.2, 0.2]), no),
                _choice(rng, np.array([0.6, 0.27, 0.09, 0.04]), no),
            )
            + 1
        )
        value = rng.gamma(3.0, self.mean_value[cust] / 3.0) * np.where(self.o_promo, 1.3, 1.0)
        line_order, line_pos = _ragged_index(lines)
        nl = len(line_order)
        line_cust = cust[line_order]
        category = (rng.random(nl)[:, None] > self.category_cdf[line_cust]).sum(axis=1).clip(0, 5)
        # Baskets have structure: later lines of an order often complete the first one (a suit with
        # shoes, a dress with a bag, kidswear with home goods) — what the affinity analysis finds.
        first_category = category[line_pos == 0]
        completes = (line_pos > 0) & (rng.random(nl) < 0.45)
        category = np.where(completes, COMPLEMENT[first_category[line_order]], category)
        qty_consumer = 1 + (rng.random(nl) < 0.1).astype(np.int64) + (rng.random(nl) < 0.02)
        qty_org = np.rint(np.exp(rng.normal(3.0, 0.8, nl))).astype(np.int64).clip(5, 300)
        quantity = np.where(org[line_order], qty_org, qty_consumer)
        target = value[line_order] / lines[line_order] / quantity * np.exp(rng.normal(0, 0.25, nl))
        product = np.zeros(nl, dtype=np.int64)
        jitter = rng.integers(-2, 3, nl)
        for cat in range(6):
            mask = category == cat
            members = np.flatnonzero(self.ref.product_category == cat)
            by_price = members[np.argsort(self.ref.product_price_cents[members], kind="stable")]
            at = np.searchsorted(self.ref.product_price_cents[by_price], target[mask]) + jitter[mask]
            product[mask] = by_price[at.clip(0, len(by_price) - 1)]
        unit = self.ref.product_price_cents[product]
        amount = unit * quantity
        starts = np.cumsum(lines) - lines
        total = np.add.reduceat(amount, starts) if no else np.zeros(0, dtype=np.int64)
        # Discounts: 满300减30 on festival days, occasional coupons otherwise; never more than half.
        promo_discount = np.where(rng.random(no) < 0.75, (total // 30_000) * 3_000, 0)
        coupon = np.where(total >= 30_000, 5_000, np.where(total >= 10_000, 2_000, 0))
        coupon = np.where(rng.random(no) < 0.15, coupon, 0)
        discount = np.minimum(np.where(self.o_promo, promo_discount, coupon), total // 2)
        self.o_lines, self.o_total, self.o_discount = lines, total, discount
        self.o_paid = total - discount
        self.l_order, self.l_no = line_order, line_pos + 1
        self.l_product, self.l_quantity, self.l_unit, self.l_amount = product, quantity, unit, amount
        self.l_starts = starts

    def _statuses(self) -> None:
        rng = self.rng
        no = len(self.o_cust)
        age_days = (self.s.now - self.o_time) / DAY
        online = self.o_channel != STORE_CHANNEL
        r = rng.random(no)
        self.o_cancelled = r < 0.02
        self.o_pending = ~self.o_cancelled & online & (age_days < 0.1) & (rng.random(no) < 0.4)
        settled = ~self.o_cancelled & ~self.o_pending & (age_days >= 25)
        self.o_refunded = settled & (r >= 0.02) & (r < 0.05)
        self.o_partial = settled & (r >= 0.05) & (r < 0.08) & (self.o_lines >= 2)
        self.o_exchange = settled & (r >= 0.08) & (r < 0.10)
        self.o_shipped = online & ~self.o_cancelled & ~self.o_pending
        # The refunded line: a random line of the order, refunded net of its share of the discount.
        pick = self.l_starts + (rng.random(no) * self.o_lines).astype(np.int64)
        line_amount = self.l_amount[pick] if no else np.zeros(0, dtype=np.int64)
        share = np.maximum(line_amount * self.o_paid // np.maximum(self.o_total, 1), 1)
        self.o_return_line = pick
        self.o_line_share = share
        self.o_paid = np.where(self.o_cancelled | self.o_pending, 0, self.o_paid)
        partial_refund = np.where(self.o_partial, np.minimum(share, self.o_paid - 1), 0)
        self.o_refund = np.where(self.o_refunded, self.o_paid, partial_refund)

    # --- shipments ---------------------------------------------------------------------------
    def _shipments(self) -> None:
        rng = self.rng
        orders = np.flatnonzero(self.o_shipped)
        ns = len(orders)
        now = self.s.now
        carrier = _choice(rng, CARRIER_SHARE, ns)
        ordered = self.o_time[orders]
        shipped = ordered + (rng.gamma(2.0, 6.0, ns) * 3600).astype(np.int64) + 600
        # Most parcels arrive within the carrier's promise; 7% are late by hours to days.
        promise = CARRIER_PROMISE_DAYS[carrier] * DAY
        promised = shipped + promise
        late = rng.random(ns) < 0.07
        transit = np.where(
            late,
            promise + rng.integers(3 * 3600, 4 * DAY, ns),
            (promise * rng.uniform(0.3, 0.95, ns)).astype(np.int64),
        )
        delivered = shipped + transit
        not_shipped = shipped > now
        is_delivered = delivered <= now
        exception = ~is_delivered & ~not_shipped & (rng.random(ns) < 0.04)
        out_for_delivery = ~is_delivered & ~not_shipped & ~exception & (delivered - now < 4 * 3600)
        status = np.full(ns, 1)  # in transit
        status = np.where(is_delivered, 3, status)
        status = np.where(out_for_delivery, 2, status)
        status = np.where(exception, 4, status)
        status = np.where(not_shipped, 0, status)
        self.sh_orders, self.sh_carrier, self.sh_status = orders, carrier, status
        self.sh_shipped, self.sh_promised, self.sh_delivered = shipped, promised, delivered
        self.sh_ids = self.c.shipment_id + np.arange(ns)
        self.sh_seq = self.c.shipments + 1 + np.arange(ns)
        # The order's status follows its parcel.
        order_state = np.full(len(self.o_cust), 3)  # completed
        order_state[orders] = np.where(status == 3, 3, np.where(status == 0, 1, 2))
        self.o_state = order_state

    def _returns(self) -> None:
        rng = self.rng
        orders = np.flatnonzero(self.o_refunded | self.o_partial | self.o_exchange)
        nr = len(orders)
        delivered_at = self.o_time.copy()
        delivered_at[self.sh_orders] = np.where(self.sh_status == 3, self.sh_delivered, self.o_time[self.sh_orders])
        requested = delivered_at[orders] + rng.integers(DAY, 7 * DAY, nr)
        resolved = requested + rng.integers(DAY, 5 * DAY, nr)
        self.r_orders = orders
        self.r_exchange = self.o_exchange[orders]
        self.r_amount = np.where(self.o_refunded[orders], self.o_refund[orders], self.o_line_share[orders])
        self.r_amount = np.where(self.o_partial[orders], self.o_refund[orders], self.r_amount)
        self.r_requested, self.r_resolved = requested, np.minimum(resolved, self.s.now - 60)
        self.r_reason = rng.integers(0, len(RETURN_REASONS), nr)
        self.r_ids = self.c.return_id + np.arange(nr)
        self.r_seq = self.c.returns + 1 + np.arange(nr)

    def _stats(self) -> None:
        n = self.n
        status = self.order_statuses()
        purchase = np.isin(status, [STATUS_INDEX[s] for s in PURCHASE_STATUSES])
        self.o_status = status
        cust = self.o_cust
        self.count = np.bincount(cust, weights=purchase, minlength=n).astype(np.int64)
        net = np.where(purchase, self.o_paid - self.o_refund, 0)
        self.spent = np.rint(np.bincount(cust, weights=net, minlength=n)).astype(np.int64)
        big = np.iinfo(np.int64).max
        first = np.full(n, big)
        last = np.full(n, -big)
        np.minimum.at(first, cust[purchase], self.o_time[purchase])
        np.maximum.at(last, cust[purchase], self.o_time[purchase])
        self.first_order, self.last_order = first, last
        # Registration: at the first order or a little before it; leads when they signed up.
        acquired_day = self.s.calendar.from_operational(self.op_acquired)
        acquired = (np.floor(acquired_day) * DAY).astype(np.int64) - LOCAL_OFFSET + self.rng.integers(8, 23, n) * 3600
        first_any = np.full(n, big)
        np.minimum.at(first_any, cust, self.o_time)
        lag = np.where(self.rng.random(n) < 0.5, 0, self.rng.exponential(3 * DAY, n).astype(np.int64))
        self.created = np.where(first_any < big, first_any - lag, acquired)
        self.created = np.minimum(self.created, self.s.now - 60)

    def order_statuses(self) -> np.ndarray:
        state = np.array(
            [
                STATUS_INDEX[OrderStatus.COMPLETED],
                STATUS_INDEX[OrderStatus.PAID],
                STATUS_INDEX[OrderStatus.SHIPPED],
                STATUS_INDEX[OrderStatus.COMPLETED],
            ]
        )[self.o_state]
        state = np.where(self.o_exchange, STATUS_INDEX[OrderStatus.COMPLETED], state)
        state = np.where(self.o_partial, STATUS_INDEX[OrderStatus.PARTIALLY_REFUNDED], state)
        state = np.where(self.o_refunded, STATUS_INDEX[OrderStatus.REFUNDED], state)
        state = np.where(self.o_pending, STATUS_INDEX[OrderStatus.PENDING], state)
        return np.where(self.o_cancelled, STATUS_INDEX[OrderStatus.CANCELLED], state)

    # --- rows --------------------------------------------------------------------------------
    def _emit(self) -> None:
        names = self._names()
        self._customer_rows(names)
        self._identity_rows()
        self._address_rows(names)
        self._consent_rows()
        self._token_rows(names)
        self._tag_rows()
        self._order_rows()
        self._return_rows()
        self._shipment_rows()
        self._interaction_rows()

    def _names(self) -> pa.Array:
        rng, n = self.rng, self.n
        surname_idx = _choice(rng, _SURNAME_SHARE, n)
        # Children take the family name of the household's head.
        child = self.household_position == 2
        surname_idx[child] = surname_idx[self.h_head[self.household[child]]]
        surnames = _pick(_strings(_SURNAMES), surname_idx)
        parts = []
        given = np.zeros(n, dtype=np.int64)
        second = np.zeros(n, dtype=np.int64)
        offsets = np.cumsum([0] + [len(g) for g in _GIVEN])
        single_offsets = np.cumsum([0] + [len(g) for g in _SINGLE])
        for g in range(3):
            mask = self.gender == g
            given[mask] = offsets[g] + rng.integers(0, len(_GIVEN[g]), int(mask.sum()))
            second[mask] = single_offsets[g] + rng.integers(0, len(_SINGLE[g]), int(mask.sum()))
        given_names = _pick(_strings([x for g in _GIVEN for x in g]), given)
        singles = _strings([x for g in _SINGLE for x in g] + [""])
        # Some single-character given names get a second character (王芳 → 王芳华).
        single_given = np.array([len(x) == 1 for g in _GIVEN for x in g])[given]
        two_character = single_given & (rng.random(n) < 0.45)
        second_names = _pick(singles, np.where(two_character, second, len(singles) - 1))
        parts = [surnames, given_names, second_names]
        person = _join(*parts)
        city_names = _strings([c[0] for c in CITIES])
        org = _join(
            _pick(city_names, self.city),
            _pick(_strings(ORG_WORDS), rng.integers(0, len(ORG_WORDS), n)),
            pc.if_else(
                pa.array(self.kind == DISTRIBUTOR),
                DISTRIBUTOR_SUFFIX,
                _pick(_strings(ORG_SUFFIXES), rng.integers(0, len(ORG_SUFFIXES), n)),
            ),
        )
        self.h_names = _join(_pick(surnames, self.h_head), "家")
        return pc.if_else(pa.array(self.org), org, person)

    def _households(self) -> None:
        """A few families of two or three neighbours in the customer list, all persons, living
        at the head's address: `household` is each customer's household index, or -1."""
        rng, n = self.rng, self.n
        head = np.flatnonzero((np.arange(n) % 3 == 0) & (rng.random(n) < 0.06))
        head = head[head + 2 < n]
        size = np.where(rng.random(len(head)) < 0.3, 3, 2)
        persons = ~self.org[head] & ~self.org[head + 1] & ((size == 2) | ~self.org[head + 2])
        head, size = head[persons], size[persons]
        family, position = _ragged_index(size)
        members = head[family] + position
        self.household = np.full(n, -1)
        self.household[members] = family
        self.household_position = np.zeros(n, dtype=np.int64)
        self.household_position[members] = position
        self.city[members] = self.city[head[family]]
        self.h_head = head
        self.h_ids = self.c.household_id + np.arange(len(head))

    def _customer_rows(self, names: pa.Array) -> None:
        rng, n = self.rng, self.n
        age = np.clip(rng.normal(33, 9, n), 18, 70)
        today = (self.s.now + LOCAL_OFFSET) // DAY
        birthday = (today - age * 365.25).astype(np.int64)
        no_birthday = self.org | (rng.random(n) < 0.2)
        no_purchase = self.count == 0
        self.names = names
        self.tables.append(
            (
                Household,
                {
                    "id": ints(self.h_ids),
                    "name": self.h_names,
                    "created_at": timestamps(self.created[self.h_head]),
                },
            )
        )
        self.tables.append(
            (
                Customer,
                {
                    "id": ints(self.ids),
                    "kind": _pick(_strings([str(k) for k in KINDS]), self.kind),
                    "party_type": pc.if_else(pa.array(self.org), str(PartyType.ORGANISATION), str(PartyType.PERSON)),
                    "name": names,
                    "gender": _pick(_strings(GENDERS), self.gender),
                    "birthday": dates(birthday, no_birthday),
                    "household": ints(self.c.household_id + self.household, self.household < 0),
                    "home_store": ints(self.ref.store_ids[self.home_store], ~self.has_home_store),
                    "preferred_channel": ints(self.ref.channel_ids[self.preferred]),
                    "source_system": _const(SOURCE, n, pa.string()),
                    "source_id": _join("C", _digits(self.index + 1, 8)),
                    "custom": _const("{}", n, pa.string()),
                    "order_count": ints(self.count),
                    "total_spent": money(self.spent),
                    "first_order_at": timestamps(np.where(no_purchase, 0, self.first_order), no_purchase),
                    "last_order_at": timestamps(np.where(no_purchase, 0, self.last_order), no_purchase),
                    "created_at": timestamps(self.created),
                    "updated_at": timestamps(np.full(n, self.s.now)),
                },
            )
        )

    def _identity_rows(self) -> None:
        rng, n = self.rng, self.n
        person = ~self.org
        kinds, customers, values, primary, verified = [], [], [], [], []

        def add(kind: str, mask: np.ndarray, value: pa.Array, is_primary: bool, verified_share: float) -> None:
            who = np.flatnonzero(mask)
            value = value.filter(pa.array(mask))
            taken = self.s.taken.get(kind)
            if taken:
                keep = pc.invert(pc.is_in(value, value_set=pa.array(sorted(taken), type=pa.string())))
                who, value = who[keep.to_numpy(zero_copy_only=False)], value.filter(keep)
            kinds.append(_const(kind, len(who), pa.string()))
            customers.append(who)
            values.append(value)
            primary.append(np.full(len(who), is_primary))
            verified.append(rng.random(len(who)) < verified_share)

        prefix = PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), n)]
        phone = _join("+86", _digits(prefix * 10**8 + self.s.phone_scramble(self.index)))
        self.has_phone = np.where(person, rng.random(n) < 0.96, rng.random(n) < 0.8)
        add(IdentityKind.PHONE, self.has_phone, phone, True, 0.7)
        scrambled = self.s.email_scramble(self.index)
        domain = _pick(_strings(EMAIL_DOMAINS), _choice(rng, EMAIL_DOMAIN_SHARE, n))
        qq_number = _join(_digits(10_000_000 + scrambled), "@qq.com")
        named = _join(
            _pick(_strings(_ROMAN_GIVEN), rng.integers(0, len(_ROMAN_GIVEN), n)),
            ".",
            _pick(_strings(_ROMAN_SURNAME), rng.integers(0, len(_ROMAN_SURNAME), n)),
            _digits(scrambled % 100_000_000),
            "@",
            domain,
        )
        email = pc.if_else(pa.array(rng.random(n) < 0.3), qq_number, named)
        self.has_email = np.where(person, rng.random(n) < 0.35, rng.random(n) < 0.9)
        add(IdentityKind.EMAIL, self.has_email, email, False, 0.5)
        card = _join("88", _digits(self.s.card_scramble(self.index), 10))
        member_share = np.where(self.kind == LEAD, 0.3, 0.75)
        self.has_card = person & (rng.random(n) < member_share)
        add(IdentityKind.MEMBER_CARD, self.has_card, card, False, 1.0)
        openid = self._openids(n)
        self.has_openid = person & (rng.random(n) < np.where(self.preferred == 2, 0.95, 0.4))
        add(IdentityKind.WECHAT_OPENID, self.has_openid, openid, False, 1.0)
        store_codes = _strings([code.upper() for code in self.ref.store_codes])
        pos = _join(_pick(store_codes, self.home_store), "-", _digits(self.index + 1, 8))
        add(IdentityKind.POS_ID, self.has_home_store & person & (rng.random(n) < 0.6), pos, False, 1.0)
        who = np.concatenate(customers)
        self.tables.append(
            (
                CustomerIdentity,
                {
                    "customer": ints(self.ids[who]),
                    "kind": pa.concat_arrays(kinds),
                    "value": pa.concat_arrays(values),
                    "is_primary": pa.array(np.concatenate(primary)),
                    "verified": pa.array(np.concatenate(verified)),
                    "source_system": _const(SOURCE, len(who), pa.string()),
                    "created_at": timestamps(self.created[who]),
                },
            )
        )

    def _openids(self, n: int) -> pa.Array:
        """28-character WeChat-style openids: `o`, random characters, then the scrambled run index
        in base 64, which makes them unique."""
        alphabet = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)
        chars = np.empty((n, 28), dtype=np.uint8)
        chars[:, 0] = ord("o")
        chars[:, 1:22] = alphabet[self.rng.integers(0, 64, (n, 21))]
        value = self.s.openid_scramble(self.index)
        for i in range(6):
            chars[:, 27 - i] = alphabet[value % 64]
            value //= 64
        return pa.array(chars.view("S28").ravel().astype(str), type=pa.string())

    def _address_rows(self, names: pa.Array) -> None:
        rng, n = self.rng, self.n
        has = rng.random(n) < np.where(self.kind == LEAD, 0.4, np.where(self.org, 0.95, 0.9))
        second = has & ~self.org & (rng.random(n) < 0.12)
        who = np.concatenate([np.flatnonzero(has), np.flatnonzero(second)])
        default = np.concatenate([np.ones(int(has.sum()), bool), np.zeros(int(second.sum()), bool)])
        # Household members share the head's home address.
        detail_seed = np.arange(n)
        member = self.household >= 0
        detail_seed[member] = self.h_head[self.household[member]]
        street = (detail_seed[who] * 7 + (~default) * 3) % len(STREETS)
        compound = (detail_seed[who] * 11 + (~default)) % len(COMPOUNDS)
        number = 1 + (detail_seed[who] * 37 + (~default) * 101) % 388
        building = 1 + (detail_seed[who] * 13) % 30
        room = (1 + (detail_seed[who] * 29) % 30) * 100 + 1 + detail_seed[who] % 4
        city = self.city[who]
        district = np.array([int(rng.integers(0, len(CITIES[c][6]))) for c in range(len(CITIES))])[city]
        district = (district + detail_seed[who]) % np.array([len(c[6]) for c in CITIES])[city]
        district_names = _strings([d for c in CITIES for d in c[6]])
        district_offset = np.cumsum([0] + [len(c[6]) for c in CITIES])[:-1]
        municipal = {"北京市", "上海市", "天津市", "重庆市"}
        self.tables.append(
            (
                Address,
                {
                    "customer": ints(self.ids[who]),
                    "label": pc.if_else(pa.array(default), "家", "公司"),
                    "recipient": names.take(pa.array(who)),
                    "province": _pick(_strings([c[1] for c in CITIES]), city),
                    "city": _pick(_strings([c[1] if c[1] in municipal else c[0] + "市" for c in CITIES]), city),
                    "district": _pick(district_names, district_offset[city] + district),
                    "detail": _join(
                        _pick(_strings(STREETS), street),
                        _digits(number),
                        "号",
                        _pick(_strings(COMPOUNDS), compound),
                        _digits(building),
                        "栋",
                        _digits(room),
                        "室",
                    ),
                    "postal_code": _pick(_strings([c[5] for c in CITIES]), city),
                    "is_default": pa.array(default),
                },
            )
        )

    def _consent_rows(self) -> None:
        rng = self.rng
        channels = [
            (ContactChannel.SMS, self.has_phone, 0.55, 0.10),
            (ContactChannel.EMAIL, self.has_email, 0.50, 0.08),
            (ContactChannel.WECHAT, self.has_openid, 0.60, 0.05),
        ]
        who_all, channel_all, status_all, at_all, granted_at_all = [], [], [], [], []
        for channel, has, granted, withdrawn in channels:
            r = rng.random(self.n)
            asked = has & (r < granted + withdrawn)
            who = np.flatnonzero(asked)
            is_withdrawn = r[who] >= granted
            tenure = np.maximum(self.s.now - self.created[who], 60)
            granted_at = self.created[who]
            withdrawn_at = granted_at + (rng.random(len(who)) * tenure).astype(np.int64)
            who_all.append(who)
            channel_all.append(_const(str(channel), len(who), pa.string()))
            status_all.append(is_withdrawn)
            at_all.append(np.where(is_withdrawn, withdrawn_at, granted_at))
            granted_at_all.append(granted_at)
        who = np.concatenate(who_all)
        channel = pa.concat_arrays(channel_all)
        is_withdrawn = np.concatenate(status_all)
        at = np.concatenate(at_all)
        granted_at = np.concatenate(granted_at_all)
        status = pc.if_else(pa.array(is_withdrawn), str(ConsentStatus.WITHDRAWN), str(ConsentStatus.GRANTED))
        nc = len(who)
        common = {
            "purpose": _const(str(Purpose.MARKETING), nc, pa.string()),
            "notice_version": _const("2023.1", nc, pa.string()),
        }
        source = pc.if_else(pa.array(is_withdrawn), "unsubscribe link", "registration form")
        self.tables.append(
            (
                ConsentModel,
                {
                    "customer": ints(self.ids[who]),
                    "channel": channel,
                    "status": status,
                    "source": source,
                    **common,
                    "updated_at": timestamps(at),
                },
            )
        )
        # The ledger: every consent was granted at registration; withdrawals are a second entry.
        back = np.flatnonzero(is_withdrawn)
        self.tables.append(
            (
                ConsentEvent,
                {
                    "customer": ints(np.concatenate([self.ids[who], self.ids[who[back]]])),
                    "channel": pa.concat_arrays([channel, channel.take(pa.array(back))]),
                    "purpose": _const(str(Purpose.MARKETING), nc + len(back), pa.string()),
                    "status": pa.concat_arrays(
                        [
                            _const(str(ConsentStatus.GRANTED), nc, pa.string()),
                            _const(str(ConsentStatus.WITHDRAWN), len(back), pa.string()),
                        ]
                    ),
                    "source": pa.concat_arrays(
                        [
                            _const("registration form", nc, pa.string()),
                            _const("unsubscribe link", len(back), pa.string()),
                        ]
                    ),
                    "notice_version": _const("2023.1", nc + len(back), pa.string()),
                    "recorded_at": timestamps(np.concatenate([granted_at, at[back]])),
                },
            )
        )

    def _token_rows(self, names: pa.Array) -> None:
        encoded = names.dictionary_encode()
        unique = encoded.dictionary.to_pylist()
        tokens = [sorted(name_tokens(name)) for name in unique]
        counts = np.array([len(t) for t in tokens], dtype=np.int64)
        flat = _strings([t for ts in tokens for t in ts])
        offsets = np.cumsum(counts) - counts
        which = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        per_customer = counts[which]
        customer, position = _ragged_index(per_customer)
        self.tables.append(
            (
                SearchToken,
                {
                    "customer": ints(self.ids[customer]),
                    "token": _pick(flat, offsets[which[customer]] + position),
                },
            )
        )

    def _tag_rows(self) -> None:
        rng, n = self.rng, self.n
        tag_ids = self.ref.tag_ids
        discounted = np.bincount(self.o_cust, weights=self.o_discount > 0, minlength=n)
        recent = self.first_order >= self.s.now - 90 * DAY
        rules = [
            ("VIP", self.spent >= 1_500_000),
            ("企业团购", self.org),
            ("价格敏感", (self.count >= 3) & (discounted >= 0.5 * np.maximum(self.count, 1))),
            ("高潜力", recent & (self.count >= 1) & (rng.random(n) < 0.2)),
            ("直播粉丝", np.isin(self.preferred, [1, 2]) & (rng.random(n) < 0.05)),
            ("会员日常客", self.has_card & (rng.random(n) < 0.05)),
            ("穿搭达人", ~self.org & (rng.random(n) < 0.02)),
        ]
        assert {r[0] for r in rules} == {t[0] for t in TAGS}
        who = np.concatenate([np.flatnonzero(mask) for _name, mask in rules])
        tag = np.concatenate([np.full(int(mask.sum()), tag_ids[name]) for name, mask in rules])
        through = Customer.tags.through
        self.tables.append((through, {"customer": ints(self.ids[who]), "tag": ints(tag)}))

    def _order_rows(self) -> None:
        ref, no = self.ref, len(self.o_cust)
        prefix = _pick(_strings(CHANNEL_ORDER_PREFIX), self.o_channel)
        self.o_number = _join(prefix, _digits(_yyyymmdd(self.o_local_day)), _digits(self.o_seq, 7))
        store_order = self.o_channel == STORE_CHANNEL
        store_id = ref.store_ids[self.o_store]
        u = self.rng.random(no)
        salesperson = np.full(no, -1)
        if ref.salesperson_id is not None:
            salesperson = np.where(self.org[self.o_cust] & (u < 0.8), ref.salesperson_id, salesperson)
        if ref.store_manager_id is not None and ref.managed_store_ids:
            managed = store_order & np.isin(store_id, list(ref.managed_store_ids)) & (u < 0.4)
            salesperson = np.where(managed, ref.store_manager_id, salesperson)
        self.tables.append(
            (
                Order,
                {
                    "id": ints(self.o_ids),
                    "source_system": _const(SOURCE, no, pa.string()),
                    "source_id": self.o_number,
                    "number": self.o_number,
                    "customer": ints(self.ids[self.o_cust]),
                    "channel": ints(ref.channel_ids[self.o_channel]),
                    "store": ints(np.where(store_order, store_id, 0), ~store_order),
                    "salesperson": ints(salesperson, salesperson < 0),
                    "status": _pick(_strings(STATUS_VALUES), self.o_status),
                    "ordered_at": timestamps(self.o_time),
                    "currency": _const("CNY", no, pa.string()),
                    "total_amount": money(self.o_total),
                    "discount_amount": money(self.o_discount),
                    "paid_amount": money(self.o_paid),
                    "refunded_amount": money(self.o_refund),
                    "created_at": timestamps(self.o_time),
                    "updated_at": timestamps(self.o_time),
                },
            )
        )
        self.tables.append(
            (
                OrderLine,
                {
                    "order": ints(self.o_ids[self.l_order]),
                    "line_no": ints(self.l_no),
                    "product": ints(ref.product_ids[self.l_product]),
                    "sku": _pick(_strings(ref.product_skus), self.l_product),
                    "name": _pick(_strings(ref.product_names), self.l_product),
                    "quantity": ints(self.l_quantity),
                    "unit_price": money(self.l_unit),
                    "amount": money(self.l_amount),
                },
            )
        )

    def _return_rows(self) -> None:
        nr = len(self.r_orders)
        self.r_number = _join("R", _digits(self.r_seq, 9))
        status = pc.if_else(pa.array(self.r_exchange), str(ReturnStatus.EXCHANGED), str(ReturnStatus.REFUNDED))
        self.tables.append(
            (
                Return,
                {
                    "id": ints(self.r_ids),
                    "source_system": _const(SOURCE, nr, pa.string()),
                    "source_id": self.r_number,
                    "order": ints(self.o_ids[self.r_orders]),
                    "customer": ints(self.ids[self.o_cust[self.r_orders]]),
                    "kind": pc.if_else(pa.array(self.r_exchange), str(ReturnKind.EXCHANGE), str(ReturnKind.RETURN)),
                    "status": status,
                    "reason": _pick(_strings(RETURN_REASONS), self.r_reason),
                    "amount": money(self.r_amount),
                    "requested_at": timestamps(self.r_requested),
                    "resolved_at": timestamps(self.r_resolved),
                },
            )
        )

    def _shipment_rows(self) -> None:
        ns = len(self.sh_orders)
        pending = self.sh_status == 0
        delivered = self.sh_status == 3
        carriers = _strings([c[0] for c in CARRIERS])
        prefixes = _strings([c[1] for c in CARRIERS])
        self.sh_tracking = _join(_pick(prefixes, self.sh_carrier), _digits(self.s.tracking_scramble(self.sh_seq), 12))
        self.sh_carrier_names = _pick(carriers, self.sh_carrier)
        self.tables.append(
            (
                Shipment,
                {
                    "id": ints(self.sh_ids),
                    "order": ints(self.o_ids[self.sh_orders]),
                    "carrier": self.sh_carrier_names,
                    "tracking_number": self.sh_tracking,
                    "status": _pick(_strings(SHIPMENT_STATUS_VALUES), self.sh_status),
                    "shipped_at": timestamps(self.sh_shipped, pending),
                    "promised_by": timestamps(self.sh_promised),
                    "delivered_at": timestamps(self.sh_delivered, ~delivered),
                },
            )
        )
        del ns
        self._event_rows()

    def _event_rows(self) -> None:
        """Tracking events of the shipments sent since `tracking_since` (older parcels keep their
        shipment row and status, not the courier's scan history)."""
        rng, now = self.rng, self.s.now
        recent = np.flatnonzero((self.sh_status != 0) & (self.sh_shipped >= self.s.tracking_since))
        m = len(recent)
        shipped = self.sh_shipped[recent]
        delivered = self.sh_delivered[recent]
        transit = delivered - shipped
        dest_city = self.city[self.o_cust[self.sh_orders[recent]]]
        hub = self.ref.city_region[dest_city]  # REGION_HUB is indexed by region
        hubs = _strings(REGION_HUB)
        cities = _strings([c[0] for c in CITIES])
        origin = _pick(hubs, hub)
        destination = _pick(cities, dest_city)
        times = [
            shipped,
            shipped + transit * 35 // 100,
            shipped + transit * 75 // 100,
            delivered - np.minimum(4 * 3600, transit // 5),
            delivered,
        ]
        statuses = [1, 1, 1, 2, 3]
        locations = [origin, origin, destination, destination, destination]
        descriptions = [
            _const("快件已揽收", m, pa.string()),
            _join("快件已发出，下一站：", destination, "转运中心"),
            _join("快件已到达", destination, "转运中心"),
            _const("快件正在派送中，请保持电话畅通", m, pa.string()),
            _const("快件已签收，感谢使用", m, pa.string()),
        ]
        shipment, at, status, location, description = [], [], [], [], []
        exception = self.sh_status[recent] == 4
        last_seen = shipped.copy()
        for t, st, loc, desc in zip(times, statuses, locations, descriptions, strict=True):
            keep = (t <= now) & ~(exception & (st >= 2))
            last_seen = np.where(keep, np.maximum(last_seen, t), last_seen)
            shipment.append(recent[keep])
            at.append(t[keep])
            status.append(np.full(int(keep.sum()), st))
            location.append(loc.filter(pa.array(keep)))
            description.append(desc.filter(pa.array(keep)))
        problem = np.flatnonzero(exception)
        shipment.append(recent[problem])
        # The exception is the parcel's latest event: after every scan kept above.
        at.append(np.maximum(now - rng.integers(600, DAY, len(problem)), last_seen[problem] + 60))
        status.append(np.full(len(problem), 4))
        location.append(destination.take(pa.array(problem)))
        description.append(_const("地址不详，快递员正在联系收件人", len(problem), pa.string()))
        rows = np.concatenate(shipment)
        self.tables.append(
            (
                ShipmentEvent,
                {
                    "shipment": ints(self.sh_ids[rows]),
                    "at": timestamps(np.concatenate(at)),
                    "status": _pick(_strings(SHIPMENT_STATUS_VALUES), np.concatenate(status)),
                    "location": pa.concat_arrays(location),
                    "description": pa.concat_arrays(description),
                },
            )
        )

    def _interaction_rows(self) -> None:
        ref, n = self.ref, self.n
        nr = len(self.r_orders)
        sent = np.flatnonzero(self.sh_status != 0)
        ns = len(sent)
        registration = _("Customer record created")
        exchange_title = _fill(_("Exchange %(number)s"), self.r_number)
        return_title = _fill(_("Return %(number)s"), self.r_number)
        shipment_title = _fill(
            _("Shipment %(tracking)s"),
            _join(self.sh_carrier_names.take(pa.array(sent)), " ", self.sh_tracking.take(pa.array(sent))),
        )
        shipment_labels = _strings([str(ShipmentStatus(s).label) for s in SHIPMENT_STATUS_VALUES])
        columns = {
            "customer": ints(
                np.concatenate(
                    [
                        self.ids,
                        self.ids[self.o_cust[self.r_orders]],
                        self.ids[self.o_cust[self.sh_orders[sent]]],
                    ]
                )
            ),
            "kind": pa.concat_arrays(
                [
                    _const(str(InteractionKind.REGISTRATION), n, pa.string()),
                    _const(str(InteractionKind.RETURN), nr, pa.string()),
                    _const(str(InteractionKind.SHIPMENT), ns, pa.string()),
                ]
            ),
            "occurred_at": timestamps(np.concatenate([self.created, self.r_requested, self.sh_shipped[sent]])),
            "channel": ints(
                np.concatenate(
                    [
                        ref.channel_ids[self.preferred],
                        ref.channel_ids[self.o_channel[self.r_orders]],
                        ref.channel_ids[self.o_channel[self.sh_orders[sent]]],
                    ]
                )
            ),
            "title": pa.concat_arrays(
                [
                    _const(registration, n, pa.string()),
                    pc.if_else(pa.array(self.r_exchange), exchange_title, return_title) if nr else _strings([]),
                    shipment_title,
                ]
            ),
            "detail": pa.concat_arrays(
                [
                    _const("", n, pa.string()),
                    _pick(_strings(RETURN_REASONS), self.r_reason),
                    _pick(shipment_labels, self.sh_status[sent]),
                ]
            ),
            "ref_type": pa.concat_arrays(
                [
                    _const("", n, pa.string()),
                    _const("return", nr, pa.string()),
                    _const("shipment", ns, pa.string()),
                ]
            ),
            "ref_id": ints(
                np.concatenate([np.zeros(n), self.r_ids, self.sh_ids[sent]]),
                np.concatenate([np.ones(n, bool), np.zeros(nr + ns, bool)]),
            ),
        }
        self.tables.append((Interaction, columns))


STATUS_VALUES: list[str] = list(OrderStatus.values)
STATUS_INDEX = {s: i for i, s in enumerate(STATUS_VALUES)}
SHIPMENT_STATUS_VALUES: list[str] = list(ShipmentStatus.values)
PROMO_DAYS = np.array(
    [
        1101,
        1102,
        1103,
        1104,
        1105,
        1106,
        1107,
        1108,
        1109,
        1110,
        1111,
        1112,
        1212,
        618,
        617,
        616,
        615,
        614,
        613,
        612,
        611,
        610,
        609,
        608,
        607,
        606,
        605,
        604,
        603,
        602,
        601,
        308,
    ]
)


def _yyyymmdd(days: np.ndarray) -> np.ndarray:
    """The dates (days since the epoch) as numbers like 20241111."""
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    return year * 10_000 + _month_day(days)


def _month_day(days: np.ndarray) -> np.ndarray:
    """month·100 + day of each date given as days since the epoch."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    day = (d - months).astype(np.int64) + 1
    return month * 100 + day
