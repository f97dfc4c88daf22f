"""Reads of customers: role-scoped querysets, permission-checked fetches, search, keyset lists,
and the 360 view."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy
from kehu.customers.models import (
    Customer,
    CustomerIdentity,
    IdentityKind,
    Interaction,
    InteractionKind,
    SearchToken,
)
from kehu.customers.normalise import looks_like_phone, match_key, normalise_email, normalise_phone
from kehu.customers.search import query_tokens
from kehu.db import Read, Rows, read_many

if TYPE_CHECKING:
    from kehu.accounts.models import User


def visible_customers(user: User) -> QuerySet[Customer]:
    """Customers this user may see: all for most roles; for a store manager, those whose home
    store is one of theirs or who bought in one of their stores."""
    policy.check(user, policy.VIEW_CUSTOMERS)
    qs = Customer.objects.all()
    if policy.is_store_scoped(user):
        from kehu.commerce.models import Order

        store_ids = list(user.stores.values_list("pk", flat=True))
        bought_here = Order.objects.filter(customer=OuterRef("pk"), store_id__in=store_ids)
        qs = qs.filter(Q(home_store_id__in=store_ids) | Exists(bought_here))
    return qs


# What the 360 page reads along with the customer row.
PAGE_RELATED = ("home_store", "preferred_channel", "household")


def access_customer(user: User, customer_id: int) -> Customer:
    """Fetch a customer the user may see; 404 (not 403) for one outside their scope, so that
    the existence of other stores' customers is not revealed."""
    try:
        return visible_customers(user).select_related(*PAGE_RELATED).get(pk=customer_id)
    except Customer.DoesNotExist:
        raise Http404(_("No such customer.")) from None


# --- search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    customer: Customer
    matched_on: str  # "phone", "email", "member_card", "order", "name", ...


def search_customers(user: User, query: str, limit: int = 20) -> list[SearchHit]:
    """Find customers by phone (any common form), email (any case), member card, WeChat or POS
    id, order number, or part of the name."""
    query = query.strip()
    if not query:
        return []
    scope = visible_customers(user)
    hits: dict[int, SearchHit] = {}

    def add(qs: QuerySet[Customer], matched_on: str) -> None:
        for customer in qs.select_related("home_store")[: limit - len(hits)]:
            hits.setdefault(customer.pk, SearchHit(customer, matched_on))

    identity_values: list[tuple[str, str]] = []
    # A query that is not a valid phone or email simply skips that lookup.
    if looks_like_phone(query):
        with contextlib.suppress(ValidationError):
            identity_values.append((IdentityKind.PHONE, normalise_phone(query)))
    if "@" in query:
        with contextlib.suppress(ValidationError):
            identity_values.append((IdentityKind.EMAIL, normalise_email(query)))
    folded = match_key(query)
    # Member cards, POS and WeChat ids and order numbers are codes in ASCII letters, digits and
    # punctuation (full-width forms fold to them): a query with Chinese characters is a name, and
    # skips those two lookups.
    is_code = folded.isascii()
    code_kinds = (
        IdentityKind.MEMBER_CARD,
        IdentityKind.POS_ID,
        IdentityKind.WECHAT_OPENID,
        IdentityKind.WECHAT_UNIONID,
    )
    for kind in code_kinds if is_code else ():
        identity_values.append((kind, query))
        if folded != query:
            identity_values.append((kind, folded))
    if identity_values:
        cond = Q()
        for kind, value in identity_values:
            cond |= Q(kind=kind, value=value)
        matched = CustomerIdentity.objects.filter(cond).values_list("customer_id", "kind")
        kinds = dict(matched)
        # With what the 360 page needs: one exact hit is answered with that page.
        for customer in scope.filter(pk__in=list(kinds)).select_related(*PAGE_RELATED)[:limit]:
            hits.setdefault(customer.pk, SearchHit(customer, str(kinds[customer.pk])))

    if len(hits) < limit and is_code:
        from kehu.commerce.models import Order

        order_customers = Order.objects.filter(number=query).values("customer_id")
        add(scope.filter(pk__in=order_customers).select_related(*PAGE_RELATED), "order")

    if len(hits) < limit and not looks_like_phone(query) and "@" not in query:
        add(_name_matches(scope, query, limit), "name")
    return list(hits.values())[:limit]


def _name_matches(scope: QuerySet[Customer], query: str, limit: int) -> QuerySet[Customer]:
    tokens = query_tokens(query)
    if not tokens:
        return scope.none()
    key = match_key(query)
    if len(tokens) == 1 and len(key) <= 2:
        # One token (a two-character given name, say): its holders in spend order come straight off
        # `search_token_rank`, the first `limit` of them within the scope, however common the name.
        ids = list(
            SearchToken.objects.filter(token=next(iter(tokens)), customer_id__in=scope.values("pk"))
            .order_by("-spent", "-customer_id")
            .values_list("customer_id", flat=True)[:limit]
        )
        return scope.filter(pk__in=ids).order_by("-total_spent", "-pk")
    # Customers holding all the query's tokens; checked for the exact substring afterwards.
    candidates = (
        SearchToken.objects.filter(token__in=tokens)
        .values("customer_id")
        .annotate(n=Count("token"))
        .filter(n=len(tokens))
        .values("customer_id")
    )
    ranked = scope.filter(pk__in=candidates).order_by("-total_spent", "-pk")
    if len(key) > 2:
        # Pairs of characters can all be present without the whole query being a substring.
        ids = [c.pk for c in ranked.only("pk", "name")[: limit * 5] if key in match_key(c.name)][:limit]
    else:
        # Ids first: a common given name matches thousands of customers, ranked through the
        # (id, total_spent) index without reading their rows; the page's rows are fetched after.
        ids = list(ranked.values_list("pk", flat=True)[:limit])
    return scope.filter(pk__in=ids).order_by("-total_spent", "-pk")


# --- list ----------------------------------------------------------------------------------

SORTS: dict[str, tuple[str, str]] = {
    # name: (field, direction) — the list is ordered by (field, pk) in that direction.
    "recent": ("created_at", "desc"),
    "spent": ("total_spent", "desc"),
    "last_order": ("last_order_at", "desc"),
    "orders": ("order_count", "desc"),
}


@dataclass
class CustomerFilters:
    kind: str = ""
    store_id: int | None = None
    tag_id: int | None = None
    min_spent: Decimal | None = None
    has_ordered: bool | None = None
    q: str = ""
    # Score filters: the analytics pages drill into the list with these.
    r_grade: str = ""
    f_grade: str = ""
    m_grade: str = ""
    rfm_class: str = ""
    tier: str = ""
    stage: str = ""
    at_risk: bool = False
    # Filters on custom fields (kehu.customfields.queries.CustomFilter), from the list's query string.
    custom: list[Any] = field(default_factory=list)

    def apply(self, qs: QuerySet[Customer]) -> QuerySet[Customer]:
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.store_id:
            qs = qs.filter(home_store_id=self.store_id)
        if self.tag_id:
            qs = qs.filter(tags__id=self.tag_id)
        if self.min_spent is not None:
            qs = qs.filter(total_spent__gte=self.min_spent)
        if self.has_ordered is True:
            qs = qs.filter(order_count__gt=0)
        elif self.has_ordered is False:
            qs = qs.filter(order_count=0)
        score_filters = {
            "score__r_grade": self.r_grade,
            "score__f_grade": self.f_grade,
            "score__m_grade": self.m_grade,
            "score__rfm_class": self.rfm_class,
            "score__tier": self.tier,
            "score__lifecycle_stage": self.stage,
        }
        if self.stage == "prospect":
            score_filters.pop("score__lifecycle_stage")
            qs = qs.filter(order_count=0)
        qs = qs.filter(**{k: v for k, v in score_filters.items() if v})
        if self.at_risk:
            qs = qs.filter(score__churn_probability__gte=0.5, score__tier__in=["gold", "silver"])
        if self.custom:
            from kehu.customfields.queries import apply_filters

            qs = apply_filters(qs, self.custom)
        return qs


@dataclass
class CustomerPage:
    customers: list[Customer]
    next_cursor: str | None
    sort: str


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, Decimal):
        value = {"dec": str(value)}
    raw = json.dumps([value, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = dt.datetime.fromisoformat(value["dt"])
        elif isinstance(value, dict) and "dec" in value:
            value = Decimal(value["dec"])
        return value, int(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def list_customers(
    user: User, filters: CustomerFilters, sort: str = "recent", cursor: str | None = None, page_size: int = 50
) -> CustomerPage:
    """One page of customers, keyset-paginated on (sort field, pk) so page 10,000 costs the same
    as page 1. NULLs (customers who never bought) sort last."""
    if sort not in SORTS:
        sort = "recent"
    field_name, _direction = SORTS[sort]
    qs = filters.apply(visible_customers(user)).select_related("home_store")
    nullable = field_name == "last_order_at"
    after = decode_cursor(cursor) if cursor else None
    if after is not None:
        value, pk = after
        if value is None:
            qs = qs.filter(**{f"{field_name}__isnull": True}, pk__lt=pk)
        else:
            cond = Q(**{f"{field_name}__lt": value}) | Q(**{field_name: value, "pk__lt": pk})
            if nullable:
                cond |= Q(**{f"{field_name}__isnull": True})
            qs = qs.filter(cond)
    order = [f"-{field_name}", "-pk"]
    if nullable:
        from django.db.models import F

        order = [F(field_name).desc(nulls_last=True), "-pk"]  # type: ignore[list-item]
    rows = list(qs.order_by(*order)[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, field_name), last.pk)
    return CustomerPage(rows, next_cursor, sort)


# --- 360 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One entry of the customer's timeline: an `Interaction` row as it is, or an order, whose
    entry is derived from the order itself (so it shows the order's current amount, in the
    reader's language, and only to users who may see that order)."""

    kind: str
    occurred_at: dt.datetime
    channel: Any
    title: str
    detail: str
    ref_type: str
    ref_id: int | None

    @property
    def channel_id(self) -> int | None:
        return self.channel.pk if self.channel is not None else None

    @classmethod
    def of_interaction(cls, item: Interaction) -> TimelineEntry:
        return cls(item.kind, item.occurred_at, item.channel, item.title, item.detail, item.ref_type, item.ref_id)

    @classmethod
    def of_order(cls, order: Any) -> TimelineEntry:
        from django.utils.translation import gettext

        title = gettext("Order %(number)s") % {"number": order.number}
        return cls(
            InteractionKind.ORDER, order.ordered_at, order.channel, title, f"¥{order.paid_amount}", "order", order.pk
        )


TIMELINE_LENGTH = 30
RECENT_ORDERS = 20


def merge_timeline(
    interactions: Sequence[Interaction], orders: Sequence[Any], limit: int = TIMELINE_LENGTH
) -> list[TimelineEntry]:
    """The newest `limit` entries of both streams, newest first (each stream comes newest first
    from its own (customer, time) index; on equal times orders come before interactions, as an
    order's timeline row used to be written after the order)."""
    entries = [TimelineEntry.of_interaction(i) for i in interactions] + [TimelineEntry.of_order(o) for o in orders]
    entries.sort(key=lambda e: (e.occurred_at, e.kind == InteractionKind.ORDER), reverse=True)
    return entries[:limit]


@dataclass
class Customer360:
    customer: Customer
    identities: list[CustomerIdentity]
    addresses: list[Any]
    consents: list[Any]
    tags: list[Any]
    notes: list[Any]
    orders: list[Any]
    timeline: list[TimelineEntry]
    channels_used: list[dict[str, Any]] = field(default_factory=list)
    favourite_categories: list[dict[str, Any]] = field(default_factory=list)
    returns_count: int = 0
    extra: list[Any] = field(default_factory=list)


def customer_360(user: User, customer: Customer, extra: Sequence[Read] = ()) -> Customer360:
    """Everything the 360 page shows, in a fixed number of queries whatever the customer's size.

    The lists that hang off the customer alone (identities, addresses, consents, tags, notes, the
    timeline, the returns count) are read in one round trip (`kehu.db.read_many`), together with
    any `extra` reads of other apps' cards, whose results land in `Customer360.extra` in order;
    the orders come in the same batch, within the user's store scope (`customer_order_reads`).
    The timeline merges the customer's interactions with those orders (`merge_timeline`)."""
    from kehu.commerce.models import Return
    from kehu.commerce.queries import customer_order_reads
    from kehu.customers.models import Address, Note, Tag
    from kehu.privacy.models import Consent

    pk = [customer.pk]
    tags_through = Customer._meta.get_field("tags").remote_field.through._meta.db_table  # type: ignore[attr-defined]
    (orders, channels, categories, identities, addresses, consents, tags, notes, timeline, returns_count, *rest) = (
        read_many(
            [
                *customer_order_reads(user, customer.pk, recent=TIMELINE_LENGTH),
                Rows(CustomerIdentity, "t.customer_id = %s", pk, order_by="t.kind, t.is_primary DESC, t.id"),
                Rows(Address, "t.customer_id = %s", pk, order_by="t.is_default DESC, t.id"),
                Rows(Consent, "t.customer_id = %s", pk, order_by="t.channel, t.purpose"),
                Rows(
                    Tag,
                    "ct.customer_id = %s",
                    pk,
                    order_by="t.name",
                    through=f"JOIN {tags_through} ct ON ct.tag_id = t.id",
                ),
                Rows(
                    Note, "t.customer_id = %s", pk, order_by="t.created_at DESC, t.id DESC", limit=10, join=("author",)
                ),
                Rows(
                    Interaction,
                    "t.customer_id = %s",
                    pk,
                    order_by="t.occurred_at DESC, t.id DESC",
                    limit=TIMELINE_LENGTH,
                    join=("channel",),
                ),
                Rows(Return, "t.customer_id = %s", pk, count=True),
                *extra,
            ]
        )
    )
    return Customer360(
        customer=customer,
        identities=identities,
        addresses=addresses,
        consents=consents,
        tags=tags,
        notes=notes,
        orders=orders[:RECENT_ORDERS],
        timeline=merge_timeline(timeline, orders),
        channels_used=channels,
        favourite_categories=categories,
        returns_count=returns_count,
        extra=rest,
    )
