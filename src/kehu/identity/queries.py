"""Reads of identity resolution: the review queue, suggestions for one customer, the compare
view of two records, and a customer's merge history. All role-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet, prefetch_related_objects

from kehu.accounts import policy
from kehu.customers.models import Customer
from kehu.db import Read, Rows
from kehu.identity import survivorship
from kehu.identity.models import DuplicateScan, DuplicateSuggestion, MergeRecord, SuggestionStatus

if TYPE_CHECKING:
    from kehu.accounts.models import User

PAGE_SIZE = 50


def may_review(user: User) -> bool:
    return policy.can(user, policy.VIEW_CUSTOMERS) and policy.can(user, policy.MERGE_CUSTOMERS)


def visible_suggestions(user: User) -> QuerySet[DuplicateSuggestion]:
    """Suggestions whose two customers both exist and are both within the user's scope."""
    from kehu.customers.queries import visible_customers

    policy.check(user, policy.MERGE_CUSTOMERS)
    scope = visible_customers(user).values("pk")
    return DuplicateSuggestion.objects.filter(customer_a_id__in=scope, customer_b_id__in=scope)


@dataclass
class QueuePage:
    suggestions: list[DuplicateSuggestion]
    next_cursor: str | None
    total: int


def review_queue(user: User, cursor: str | None = None, page_size: int = PAGE_SIZE) -> QueuePage:
    """Pending suggestions, best first, keyset-paginated on (score, id)."""
    qs = visible_suggestions(user).filter(status=SuggestionStatus.PENDING)
    total = qs.count()
    if cursor:
        try:
            score, pk = (int(part) for part in cursor.split(":", 1))
        except ValueError:
            score, pk = 101, 0
        qs = qs.filter(Q(score__lt=score) | Q(score=score, pk__gt=pk))
    rows = list(qs.select_related("customer_a", "customer_b").order_by("-score", "pk")[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = f"{rows[-1].score}:{rows[-1].pk}"
    customers = [c for s in rows for c in (s.customer_a, s.customer_b)]
    prefetch_related_objects(customers, "identities", "addresses")
    return QueuePage(rows, next_cursor, total)


def access_suggestion(user: User, suggestion_id: int) -> DuplicateSuggestion:
    from django.http import Http404

    try:
        return visible_suggestions(user).select_related("customer_a", "customer_b").get(pk=suggestion_id)
    except DuplicateSuggestion.DoesNotExist:
        raise Http404 from None


def suggestions_for(user: User, customer: Customer, limit: int = 5) -> list[dict[str, Any]]:
    """Pending suggestions involving this customer (for the 360 hint), with the other record."""
    if not may_review(user):
        return []
    rows = list(
        visible_suggestions(user)
        .filter(Q(customer_a_id=customer.pk) | Q(customer_b_id=customer.pk), status=SuggestionStatus.PENDING)
        .order_by("-score", "pk")[:limit]
    )
    return _with_others(customer, rows)


def _with_others(customer: Customer, rows: list[DuplicateSuggestion]) -> list[dict[str, Any]]:
    others = Customer.objects.in_bulk([s.other(customer.pk) for s in rows]) if rows else {}
    return [{"suggestion": s, "other": others[s.other(customer.pk)]} for s in rows if s.other(customer.pk) in others]


@dataclass
class IdentityCard:
    """The 360 page's identity card: possible duplicates of the customer and merges into it."""

    duplicates: list[dict[str, Any]]
    merges: list[MergeRecord]
    can_merge: bool


CARD_SUGGESTIONS, CARD_MERGES = 5, 10


def identity_card_reads(user: User, customer: Customer) -> list[Read]:
    """The card's two lists as reads for the 360 page's batch (`kehu.db.read_many`): the same rows
    as `suggestions_for` and `merge_history`. None for a user who may not review merges, or whose
    customers are store-scoped (the card then reads through `visible_suggestions`)."""
    if not may_review(user) or policy.is_store_scoped(user):
        return []
    pk = customer.pk
    table = connection.ops.quote_name(Customer._meta.db_table)
    both_exist = " AND ".join(
        f"EXISTS (SELECT 1 FROM {table} c WHERE c.id = t.{side})" for side in ("customer_a_id", "customer_b_id")
    )
    return [
        Rows(
            DuplicateSuggestion,
            f"(t.customer_a_id = %s OR t.customer_b_id = %s) AND t.status = %s AND {both_exist}",
            [pk, pk, SuggestionStatus.PENDING],
            order_by="t.score DESC, t.id",
            limit=CARD_SUGGESTIONS,
        ),
        Rows(
            MergeRecord,
            "t.survivor_id = %s",
            [pk],
            order_by="t.merged_at DESC, t.id DESC",
            limit=CARD_MERGES,
            join=("merged_by", "undone_by"),
        ),
    ]


def identity_card(user: User, customer: Customer, results: Sequence[Any] = ()) -> IdentityCard:
    """The card from the results of `identity_card_reads` (read here when there were none)."""
    if not may_review(user):
        return IdentityCard([], [], can_merge=False)
    if results:
        suggestions, merges = results
        return IdentityCard(_with_others(customer, list(suggestions)), list(merges), can_merge=True)
    return IdentityCard(
        suggestions_for(user, customer, limit=CARD_SUGGESTIONS),
        merge_history(customer, limit=CARD_MERGES),
        can_merge=True,
    )


def merge_history(customer: Customer, limit: int = 20) -> list[MergeRecord]:
    """Merges into this customer, newest first, with who did and undid them."""
    return list(
        MergeRecord.objects.filter(survivor_id=customer.pk)
        .select_related("merged_by", "undone_by")
        .order_by("-merged_at", "-pk")[:limit]
    )


@dataclass
class FieldRow:
    field: str
    label: str
    survivor_value: Any
    absorbed_value: Any
    default: str
    differs: bool


def compare_fields(survivor: Customer, absorbed: Customer) -> list[FieldRow]:
    """Every choosable field with both values and the default choice."""
    defaults = survivorship.default_field_sources(survivor, absorbed)
    rows = []
    for field, (label, _rule) in survivorship.FIELD_RULES.items():
        sv, av = _display(survivor, field), _display(absorbed, field)
        differs = survivorship.field_values(survivor, field) != survivorship.field_values(absorbed, field)
        rows.append(FieldRow(field, str(label), sv, av, defaults.get(field, survivorship.SURVIVOR), differs))
    return rows


def _display(customer: Customer, field: str) -> str:
    if field == "source":
        return f"{customer.source_system} / {customer.source_id}" if customer.source_id else ""
    if field.endswith("_id"):
        related = getattr(customer, field[:-3])
        return str(related) if related is not None else ""
    value = getattr(customer, field)
    display = getattr(customer, f"get_{field}_display", None)
    if display is not None:
        return str(display()) if value else ""
    return "" if value is None else str(value)


def latest_scan() -> DuplicateScan | None:
    return DuplicateScan.objects.order_by("-created_at", "-pk").first()
