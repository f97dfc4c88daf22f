"""Scoring the CRM's customers: request a run, run it (read orders, score with `kehu.analytics`,
write scores, grade history and early warnings back in bulk), with progress on the run row."""

from __future__ import annotations

import datetime as dt
import logging
import math
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from kehu.privacy.actions import do_audit
from kehu.scoring.models import CustomerScore, GradeSnapshot, GradeWarning, RunStatus, ScoringRun

if TYPE_CHECKING:
    import pandas as pd

    from kehu.accounts.models import User
    from kehu.analytics.scoring import ScoreConfig

# pandas, Ibis and the analytics engine are imported inside the functions that run a scoring:
# the web processes import this module (to queue runs) and need none of them.

logger = logging.getLogger(__name__)

BATCH = 20_000
# Which team an early warning goes to: grade slides are retention work for marketing; a top
# spender falling is a call for service to make.
WARNING_TEAMS = {"BIG_SPENDER_M_DROP": "service", "TIER_DOWN": "service"}
WARNING_CODES_KEPT = (
    "R_SLIDE",
    "F_SLIDE",
    "M_SLIDE",
    "BIG_SPENDER_M_DROP",
    "R_PLUNGE",
    "F_PLUNGE",
    "M_PLUNGE",
    "TIER_DOWN",
)


def do_request_scoring(actor: User | None, cutoff: dt.date | None = None) -> ScoringRun:
    """Queue a scoring run; the task starts once this transaction commits. A run already queued
    or running for the same cutoff is returned instead of starting another."""
    from kehu.scoring.tasks import run_scoring_task

    cutoff = cutoff or timezone.localdate()
    pending = ScoringRun.objects.filter(cutoff=cutoff, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if pending is not None:
        return pending
    run = ScoringRun.objects.create(cutoff=cutoff, triggered_by=actor)
    do_audit(actor, "create", "scoring_run", run.pk, after={"cutoff": str(run.cutoff)})
    transaction.on_commit(lambda: run_scoring_task.enqueue(run.pk))
    return run


def _insights(table: Any, cutoff: dt.date, scores: pd.DataFrame, notes: list[str]) -> dict[str, Any]:
    """Company-level results; a failure here leaves the customers' scores standing."""
    from kehu.scoring.insights import compute_insights

    try:
        return compute_insights(table, cutoff, scores)
    except Exception as exc:
        logger.exception("insights of a scoring run failed")
        notes.append(f"cohorts/affinity not computed: {exc}")
        return {}


class NothingToScore(Exception):
    pass


def _has_purchases(cutoff: dt.date) -> bool:
    from kehu.commerce.models import PURCHASE_STATUSES, Order

    end = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time(0), tzinfo=timezone.get_current_timezone())
    return Order.objects.filter(status__in=PURCHASE_STATUSES, ordered_at__lt=end).exists()


def _progress(run: ScoringRun, percent: int, stage: str) -> None:
    ScoringRun.objects.filter(pk=run.pk).update(progress=percent, stage=stage)


STAGES = {"summary": 35, "bgnbd": 50, "gamma-gamma": 60, "churn": 80}


def do_run_scoring(run: ScoringRun, *, engine: str = "auto", config: ScoreConfig | None = None) -> ScoringRun:
    """Score every customer who has bought at or before the run's cutoff. Idempotent: running the
    same run again replaces its snapshots and warnings instead of adding to them."""
    from kehu.analytics.scoring import ScoreConfig, score_customers
    from kehu.scoring.source import (
        connect_crm,
        crm_transactions,
        crm_transactions_frame,
        database_engine_available,
    )

    claimed = ScoringRun.objects.filter(pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.FAILED]).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), progress=1, stage="reading orders", message=""
    )
    if not claimed:
        run.refresh_from_db()
        return run
    try:
        if not _has_purchases(run.cutoff):
            raise NothingToScore(f"No purchases on or before {run.cutoff}: nothing to score.")
        if engine == "auto":
            engine = "database" if database_engine_available() else "duckdb"
        table = crm_transactions(connect_crm()) if engine == "database" else crm_transactions_frame()
        _progress(run, 10, "scoring")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = score_customers(
                table,
                run.cutoff,
                config or ScoreConfig(future="ignore"),
                progress=lambda stage: _progress(run, STAGES.get(stage, 50), stage),
            )
        notes = sorted({str(w.message) for w in caught})
        _progress(run, 85, "writing scores")
        written = do_write_scores(run, scores)
        _progress(run, 92, "early warnings")
        raised = do_raise_grade_warnings(run)
        _progress(run, 96, "cohorts and affinity")
        insights = _insights(table, run.cutoff, scores, notes)
    except NothingToScore as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), message=str(exc)
        )
        run.refresh_from_db()
        return run
    except Exception as exc:
        logger.exception("scoring run %s failed", run.pk)
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), message=str(exc)[:2000]
        )
        run.refresh_from_db()
        return run
    ScoringRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now(),
        progress=100,
        stage="done",
        customers_scored=written,
        warnings_raised=raised,
        insights=insights,
        message="\n".join(notes)[:2000],
    )
    run.refresh_from_db()
    return run


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# The money columns hold 14 digits; a model estimate beyond that (a degenerate fit on little
# data) is no estimate at all, so it is stored as unknown rather than failing the whole run.
MAX_MONEY = 999_999_999_999.99


def _money(value: Any) -> Decimal | None:
    value = _clean(value)
    if value is None or not math.isfinite(float(value)) or abs(float(value)) > MAX_MONEY:
        return None
    return Decimal(str(round(float(value), 2)))


def _reasons(value: Any) -> list[str]:
    if not value or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _score_rows(run: ScoringRun, scores: pd.DataFrame, now: dt.datetime) -> Iterator[CustomerScore]:
    for row in scores.itertuples(index=False):
        yield CustomerScore(
            customer_id=int(row.customer_id),
            run_id=run.pk,
            recency_days=int(row.recency_days),
            frequency=int(row.frequency),
            monetary=_money(row.monetary) or Decimal("0"),
            r_grade=row.r_grade or "",
            f_grade=row.f_grade or "",
            m_grade=row.m_grade or "",
            rfm_class=row.rfm_class or "",
            tier=row.tier or "",
            segment=getattr(row, "segment", "") or "",
            lifecycle_stage=row.lifecycle_stage or "",
            p_alive=_clean(row.p_alive),
            expected_purchases_90d=_clean(row.expected_purchases_90d),
            expected_purchases_365d=_clean(row.expected_purchases_365d),
            clv_365d=_money(row.clv_365d),
            churn_probability=_clean(row.churn_probability),
            churn_reasons=_reasons(row.churn_reasons),
            scored_at=now,
        )


def do_write_scores(run: ScoringRun, scores: pd.DataFrame) -> int:
    """Replace customers' current scores and this run's grade snapshots, in batches."""
    from kehu.customers.models import Customer

    # A customer deleted (or merged away) since the orders were read has nothing to score.
    scores = scores[scores["customer_id"].isin(list(Customer.objects.values_list("pk", flat=True)))]
    now = timezone.now()
    update_fields = [f.name for f in CustomerScore._meta.concrete_fields if not f.primary_key]
    with transaction.atomic():
        GradeSnapshot.objects.filter(run=run).delete()
        batch: list[CustomerScore] = []
        written = 0
        for score in _score_rows(run, scores, now):
            batch.append(score)
            if len(batch) >= BATCH:
                written += _flush(run, batch, update_fields)
                batch = []
        written += _flush(run, batch, update_fields)
    return written


def _flush(run: ScoringRun, batch: list[CustomerScore], update_fields: list[str]) -> int:
    if not batch:
        return 0
    CustomerScore.objects.bulk_create(
        batch, update_conflicts=True, unique_fields=["customer"], update_fields=update_fields
    )
    GradeSnapshot.objects.bulk_create(
        [
            GradeSnapshot(
                run_id=run.pk,
                customer_id=s.customer_id,
                cutoff=run.cutoff,
                r_grade=s.r_grade,
                f_grade=s.f_grade,
                m_grade=s.m_grade,
                tier=s.tier,
                lifecycle_stage=s.lifecycle_stage,
                churn_probability=s.churn_probability,
            )
            for s in batch
        ]
    )
    return len(batch)


def do_raise_grade_warnings(run: ScoringRun, history: int = 3) -> int:
    """Compare this run's grades with the previous runs' and queue a warning per slide."""
    previous = list(
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED, cutoff__lt=run.cutoff)
        .order_by("-cutoff")
        .values_list("pk", flat=True)[: history - 1]
    )
    GradeWarning.objects.filter(run=run).delete()
    if not previous:
        return 0
    run_ids = [*previous, run.pk]
    import pandas as pd

    from kehu.analytics.trends import grade_trend_warnings

    snapshots = pd.DataFrame.from_records(
        GradeSnapshot.objects.filter(run_id__in=run_ids)
        .values_list("customer_id", "cutoff", "r_grade", "f_grade", "m_grade", "tier")
        .iterator(chunk_size=50_000),
        columns=["customer_id", "run", "r_grade", "f_grade", "m_grade", "tier"],
    )
    snapshots = snapshots.replace({"": None})
    flags = grade_trend_warnings(snapshots)
    flags = flags[flags["reason_code"].isin(WARNING_CODES_KEPT)]
    created = GradeWarning.objects.bulk_create(
        [
            GradeWarning(
                customer_id=int(flag.customer_id),
                run=run,
                code=flag.reason_code,
                reason=f"{flag.description}: {flag.grades}"[:300],
                team=WARNING_TEAMS.get(flag.reason_code, "marketing"),
            )
            for flag in flags.itertuples(index=False)
        ],
        batch_size=5000,
        ignore_conflicts=True,
    )
    return len(created)
