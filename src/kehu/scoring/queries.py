"""Reads of scores: the analytics dashboard's aggregates, a customer's score and grade history,
early-warning queues and run status — all limited to the customers the user may see."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Avg, Case, Count, IntegerField, QuerySet, Sum, Value, When

from kehu.accounts import policy
from kehu.db import Rows
from kehu.scoring.models import CustomerScore, GradeSnapshot, GradeWarning, RunStatus, ScoringRun, WarningStatus

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.customers.models import Customer

GRADES = ("A", "B", "C")
TIERS = ("gold", "silver", "bronze")
STAGES = ("prospect", "new", "development", "stability", "decline", "churned")
# Upper edges (CNY) of the CLV histogram's buckets; the last bucket is open.
CLV_EDGES = (100, 300, 500, 1000, 2000, 5000, 10000)
CHURN_RISK = 0.5


def visible_scores(user: User) -> QuerySet[CustomerScore]:
    """Scores of customers the user may see (a store manager: their stores' customers)."""
    policy.check(user, policy.VIEW_CUSTOMERS)
    qs = CustomerScore.objects.all()
    if policy.is_store_scoped(user):
        from kehu.customers.queries import visible_customers

        qs = qs.filter(customer__in=visible_customers(user))
    return qs


@dataclass
class Dashboard:
    run: ScoringRun | None
    scored: int
    rf_grid: list[list[dict[str, Any]]]
    class_grid: dict[str, list[list[dict[str, Any]]]]
    tiers: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    clv_histogram: list[dict[str, Any]]
    at_risk: list[CustomerScore]
    warning_counts: list[dict[str, Any]]
    insights: dict[str, Any] = field(default_factory=dict)


def _cell(rows: dict[tuple[str, ...], dict[str, Any]], key: tuple[str, ...]) -> dict[str, Any]:
    row = rows.get(key, {})
    return {"n": row.get("n", 0), "revenue": row.get("revenue") or Decimal(0)}


def _with_heat(cells: list[dict[str, Any]]) -> None:
    """Give each cell its share of the largest cell (0..1), for shading a heat map."""
    top = max((c["n"] for c in cells), default=0) or 1
    for c in cells:
        c["heat"] = round(c["n"] / top, 3)
        c["dark"] = c["heat"] > 0.55  # white text on the darkest cells


def analytics_dashboard(user: User) -> Dashboard:
    scores = visible_scores(user)
    rf = {
        (r["r_grade"], r["f_grade"]): r
        for r in scores.values("r_grade", "f_grade").annotate(n=Count("pk"), revenue=Sum("monetary"))
    }
    classes = {
        (r["rfm_class"],): r for r in scores.values("rfm_class").annotate(n=Count("pk"), revenue=Sum("monetary"))
    }
    tiers = {
        r["tier"]: r
        for r in scores.values("tier").annotate(n=Count("pk"), revenue=Sum("monetary"), clv=Avg("clv_365d"))
    }
    stages = {r["lifecycle_stage"]: r["n"] for r in scores.values("lifecycle_stage").annotate(n=Count("pk"))}
    from kehu.customers.queries import visible_customers

    # Prospects have never bought, so they have no score: count them from the customers.
    stages["prospect"] = visible_customers(user).filter(order_count=0).count()
    bucket = Case(
        *[When(clv_365d__lt=edge, then=Value(i)) for i, edge in enumerate(CLV_EDGES)],
        default=Value(len(CLV_EDGES)),
        output_field=IntegerField(),
    )
    histogram = dict(
        scores.filter(clv_365d__isnull=False).annotate(bucket=bucket).values_list("bucket").annotate(n=Count("pk"))
    )
    labels = (
        [f"< ¥{CLV_EDGES[0]:,}"]
        + [f"¥{lo:,}–{hi:,}" for lo, hi in itertools.pairwise(CLV_EDGES)]
        + [f"≥ ¥{CLV_EDGES[-1]:,}"]
    )
    at_risk = list(
        scores.filter(churn_probability__gte=CHURN_RISK, tier__in=["gold", "silver"])
        .select_related("customer")
        .order_by("-clv_365d", "-churn_probability")[:25]
    )
    warnings = GradeWarning.objects.filter(status=WarningStatus.OPEN)
    if policy.is_store_scoped(user):
        from kehu.customers.queries import visible_customers

        warnings = warnings.filter(customer__in=visible_customers(user))
    run = ScoringRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at").first()
    rf_grid = [[{"r": r, "f": f, **_cell(rf, (r, f))} for f in GRADES] for r in GRADES]
    _with_heat([c for row in rf_grid for c in row])
    class_grid = {
        m: [[{"code": f"{r}{f}{m}", **_cell(classes, (f"{r}{f}{m}",))} for f in GRADES] for r in GRADES] for m in GRADES
    }
    _with_heat([c for grid in class_grid.values() for row in grid for c in row])
    return Dashboard(
        run=run,
        scored=sum(r["n"] for r in tiers.values()),
        rf_grid=rf_grid,
        class_grid=class_grid,
        tiers=[
            {
                "tier": t,
                "n": tiers.get(t, {}).get("n", 0),
                "revenue": tiers.get(t, {}).get("revenue") or 0,
                "clv": tiers.get(t, {}).get("clv"),
            }
            for t in TIERS
        ],
        stages=[{"stage": s, "n": stages.get(s, 0)} for s in STAGES],
        clv_histogram=[{"label": label, "n": histogram.get(i, 0)} for i, label in enumerate(labels)],
        at_risk=at_risk,
        warning_counts=list(warnings.values("code", "team").annotate(n=Count("pk")).order_by("-n")),
        insights=run.insights if run else {},
    )


def customer_card_reads(customer: Customer, history: int = 8) -> list[Rows]:
    """The 360 page's value-and-risk card, as reads for `kehu.db.read_many` (the page batches them
    with its own): the current score with its run's cutoff (not the run's insights), the grade
    history, and the customer's warnings. The warnings are read through the customer's index
    alone: filtering on the status too let PostgreSQL combine it with the queue index of every
    open warning (4.6 ms at 1M customers, against 0.1 ms; docs/benchmarks.md)."""
    pk = [customer.pk]
    return [
        Rows(CustomerScore, "t.customer_id = %s", pk, join=(("run", ("cutoff",)),)),
        Rows(GradeSnapshot, "t.customer_id = %s", pk, order_by="t.cutoff DESC, t.id DESC", limit=history),
        Rows(GradeWarning, "t.customer_id = %s", pk, order_by="t.created_at DESC, t.id DESC"),
    ]


@dataclass
class CustomerCard:
    score: CustomerScore | None
    grade_history: list[GradeSnapshot]
    warnings: list[GradeWarning]


def customer_card(results: list[Any], open_warnings: int = 5) -> CustomerCard:
    """The card from the results of `customer_card_reads`: open warnings only, newest first."""
    scores, history, warnings = results
    return CustomerCard(
        score=scores[0] if scores else None,
        grade_history=history,
        warnings=[w for w in warnings if w.status == WarningStatus.OPEN][:open_warnings],
    )


def open_warnings(user: User, team: str | None = None, code: str | None = None) -> QuerySet[GradeWarning]:
    """Open early warnings for customers the user may see, newest first."""
    from kehu.customers.queries import visible_customers

    qs = GradeWarning.objects.filter(status=WarningStatus.OPEN)
    if policy.is_store_scoped(user):
        qs = qs.filter(customer__in=visible_customers(user))
    else:
        policy.check(user, policy.VIEW_CUSTOMERS)
    if team:
        qs = qs.filter(team=team)
    if code:
        qs = qs.filter(code=code)
    return qs.select_related("customer", "run").order_by("-created_at", "-pk")


def latest_run() -> ScoringRun | None:
    return ScoringRun.objects.order_by("-created_at").first()


def access_run(run_id: int) -> ScoringRun | None:
    return ScoringRun.objects.filter(pk=run_id).first()
