"""Reads of scores: a customer's current score and grade history, warning queues, run status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from kehu.accounts import policy
from kehu.scoring.models import CustomerScore, GradeSnapshot, GradeWarning, ScoringRun, WarningStatus

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.customers.models import Customer


def customer_score(customer: Customer) -> CustomerScore | None:
    return CustomerScore.objects.filter(customer=customer).first()


def grade_history(customer: Customer, limit: int = 8) -> list[GradeSnapshot]:
    return list(GradeSnapshot.objects.filter(customer=customer).order_by("-cutoff")[:limit])


def open_warnings(user: User, team: str | None = None) -> QuerySet[GradeWarning]:
    """Open early warnings for customers the user may see, newest first."""
    from kehu.customers.queries import visible_customers

    qs = GradeWarning.objects.filter(status=WarningStatus.OPEN, customer__in=visible_customers(user))
    if team:
        qs = qs.filter(team=team)
    return qs.select_related("customer").order_by("-created_at", "-pk")


def latest_run() -> ScoringRun | None:
    return ScoringRun.objects.order_by("-created_at").first()


def may_run_scoring(user: User) -> bool:
    return policy.can(user, policy.MANAGE_STAFF) or policy.can(user, policy.EXPORT)
