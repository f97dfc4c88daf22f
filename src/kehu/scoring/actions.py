"""Scoring the CRM's customers: request a run, run it (read orders, score with `kehu.analytics`,
write scores, grade history and early warnings back in bulk), with progress on the run row."""

from __future__ import annotations

import datetime as dt
import logging
import math
import warnings
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from kehu.privacy.actions import do_audit
from kehu.scoring.models import CustomerScore, GradeSnapshot, GradeWarning, RunStatus, ScoringRun, WarningStatus
from kehu.scoring.writeback import (
    SCORE_STAGE,
    SCORE_STAGE_COLUMNS,
    SNAPSHOT_COLUMNS,
    WARNING_STAGE,
    build_swap_table,
    copy_scores,
    drop_orphan_partitions,
    drop_stage,
    money_text,
    q,
    read_rows,
    run_partition,
    stage_scores,
    stage_warnings,
    swap_in,
    table_layout,
    write_run_partition,
)

if TYPE_CHECKING:
    import pandas as pd

    from kehu.accounts.models import User
    from kehu.analytics.scoring import ScoreConfig

# pandas, Ibis and the analytics engine are imported inside the functions that run a scoring:
# the web processes import this module (to queue runs) and need none of them.

logger = logging.getLogger(__name__)

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
        crm_transactions_embedded,
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
            # On PostgreSQL one COPY of the orders into embedded DuckDB was measured 7x faster than
            # running the aggregations in PostgreSQL through Ibis (docs/benchmarks.md).
            in_place = database_engine_available() and connection.vendor != "postgresql"
            engine = "database" if in_place else "duckdb"
        table = crm_transactions(connect_crm()) if engine == "database" else crm_transactions_embedded()
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


def _analyze(*tables: str) -> None:
    """Refresh the planner's statistics of tables a run has just rewritten: until autovacuum gets
    to them, PostgreSQL plans the 360 page's and the lists' score queries on the previous run's
    figures (it took every open warning for a handful; docs/benchmarks.md). Of the grade snapshots
    only the run's own partition: ANALYZE of the partitioned table would sample every run's."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(q(t) for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _money(value: Any) -> Decimal | None:
    """A model estimate as stored money: rounded to cents, or unknown when absurd (see writeback.MAX_MONEY)."""
    text = money_text(_clean(value))
    return None if text is None else Decimal(text)


def do_write_scores(run: ScoringRun, scores: pd.DataFrame) -> int:
    """Replace customers' current scores and this run's grade snapshots, set-based. On PostgreSQL
    the scores are copied into a new score table (plus the scores of customers this run did not
    score), indexed in bulk and swapped in for the old one; elsewhere, or when something depends
    on the old table, they are bulk-loaded into a staging table and one upsert moves them into
    place. One insert writes the snapshots. A customer deleted (or merged away) since the orders
    were read gets neither."""
    now = timezone.now()
    score_table = CustomerScore._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        layout = None
        if connection.vendor == "postgresql":
            # The joins of a million scores with the customers are hash joins in memory.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # Writers of scores (a merge, an import) wait until the swap; readers go on.
            cursor.execute(f"LOCK TABLE {q(score_table)} IN EXCLUSIVE MODE")
            layout = table_layout(cursor, score_table)
        if layout is not None:
            written = _write_swapped(cursor, run, scores, now, layout)
        else:
            written = _write_staged(cursor, run, scores, now)
    _analyze(CustomerScore._meta.db_table, run_partition(GradeSnapshot._meta.db_table, run.pk))
    return written


def _customers() -> tuple[str, str]:
    from kehu.customers.models import Customer

    return q(Customer._meta.db_table), q(Customer._meta.pk.column)  # type: ignore[union-attr]


def _lock_customers(cursor: Any) -> None:
    """From here to the commit no customer can go (PostgreSQL): the snapshots' customer key is not
    checked by the database (GradeSnapshot.customer), so the join that picks the customers who
    still exist must stay true. The swap's own key check takes this lock anyway."""
    if connection.vendor == "postgresql":
        cursor.execute(f"LOCK TABLE {_customers()[0]} IN SHARE ROW EXCLUSIVE MODE")


def _write_swapped(cursor: Any, run: ScoringRun, scores: pd.DataFrame, now: Any, layout: dict[str, Any]) -> int:
    """A fresh score table, filled by COPY in key order and indexed in bulk, swapped in for the old
    one: no index insertions row by row, no dead rows, no staging table (docs/benchmarks.md)."""
    score_table = CustomerScore._meta.db_table
    customers, customer_pk = _customers()
    new = build_swap_table(cursor, score_table)
    scored_at = now.astimezone(dt.UTC).isoformat()
    copy_scores(cursor, new, scores, {"run_id": run.pk, "scored_at": scored_at})
    _lock_customers(cursor)
    cursor.execute(
        f"DELETE FROM {q(new)} n WHERE NOT EXISTS "
        f"(SELECT 1 FROM {customers} c WHERE c.{customer_pk} = n.{q('customer_id')})"
    )
    # Until the carry-over below, the new table holds exactly this run's scores.
    written = _write_snapshots(cursor, run, f"{q(new)} s")
    # Customers this run did not score (no purchase by its cutoff) keep their score.
    cursor.execute(
        f"INSERT INTO {q(new)} SELECT o.* FROM {q(score_table)} o WHERE NOT EXISTS "
        f"(SELECT 1 FROM {q(new)} n WHERE n.{q('customer_id')} = o.{q('customer_id')})"
    )
    swap_in(cursor, score_table, new, layout)
    return written


def _write_staged(cursor: Any, run: ScoringRun, scores: pd.DataFrame, now: Any) -> int:
    """The scores staged, then upserted into the score table in place."""
    customers, customer_pk = _customers()
    score_columns = [c for c, _, _ in SCORE_STAGE_COLUMNS if c != "customer_id"]
    insert_columns = ["customer_id", "run_id", *score_columns, "scored_at"]
    stage_scores(cursor, scores)
    joined = f"{SCORE_STAGE} s JOIN {customers} c ON c.{customer_pk} = s.{q('customer_id')}"
    cursor.execute(
        f"INSERT INTO {q(CustomerScore._meta.db_table)} ({', '.join(q(c) for c in insert_columns)}) "
        f"SELECT s.{q('customer_id')}, %s, {', '.join(f's.{q(c)}' for c in score_columns)}, %s FROM {joined} "
        # WHERE true: SQLite's parser needs it between INSERT … SELECT … JOIN and ON CONFLICT.
        f"WHERE true ON CONFLICT ({q('customer_id')}) DO UPDATE SET "
        + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in insert_columns[1:]),
        [run.pk, connection.ops.adapt_datetimefield_value(now)],
    )
    _lock_customers(cursor)
    written = _write_snapshots(cursor, run, joined)
    drop_stage(cursor, SCORE_STAGE)
    return written


def _write_snapshots(cursor: Any, run: ScoringRun, source: str) -> int:
    """Replace the run's grade snapshots by one row per score in `source` (aliased s). On
    PostgreSQL they are the run's own partition, filled and then indexed in bulk
    (docs/decisions/0102-snapshots-partitioned-by-run.md); elsewhere one insert."""
    table = GradeSnapshot._meta.db_table
    columns = ["run_id", "customer_id", "cutoff", *SNAPSHOT_COLUMNS]
    select = f"SELECT %s, s.{q('customer_id')}, %s, {', '.join(f's.{q(c)}' for c in SNAPSHOT_COLUMNS)} FROM {source}"
    params = [run.pk, connection.ops.adapt_datefield_value(run.cutoff)]
    if connection.vendor == "postgresql":
        drop_orphan_partitions(cursor, table, ScoringRun._meta.db_table)
        return write_run_partition(cursor, table, run.pk, columns, select, params)
    cursor.execute(f"DELETE FROM {q(table)} WHERE run_id = %s", [run.pk])
    cursor.execute(f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) {select}", params)
    return int(cursor.rowcount)


def do_raise_grade_warnings(run: ScoringRun, history: int = 3) -> int:
    """Compare this run's grades with the previous runs' and queue a warning per slide."""
    from kehu.customers.models import Customer

    previous = list(
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED, cutoff__lt=run.cutoff)
        .order_by("-cutoff")
        .values_list("pk", "cutoff")[: history - 1]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {q(GradeWarning._meta.db_table)} WHERE run_id = %s", [run.pk])
    if not previous:
        return 0
    cutoffs = {**dict(previous), run.pk: run.cutoff}
    from kehu.analytics.trends import grade_trend_warnings

    run_ids = list(cutoffs)
    snapshots = read_rows(
        f"SELECT customer_id, run_id, r_grade, f_grade, m_grade, tier FROM {q(GradeSnapshot._meta.db_table)} "
        f"WHERE run_id IN ({', '.join(['%s'] * len(run_ids))})",
        run_ids,
        ["customer_id", "run", "r_grade", "f_grade", "m_grade", "tier"],
        int_columns=["customer_id", "run"],
    )
    # The trend compares runs in cutoff order: the run column holds each snapshot's cutoff.
    snapshots["run"] = snapshots["run"].map(cutoffs)
    snapshots = snapshots.replace({"": None})
    flags = grade_trend_warnings(snapshots)
    flags = flags[flags["reason_code"].isin(WARNING_CODES_KEPT)]
    codes = flags["reason_code"].astype(str).tolist()
    reasons = [f"{d}: {g}"[:300] for d, g in zip(flags["description"].tolist(), flags["grades"].tolist(), strict=True)]
    columns = ["customer_id", "run_id", "code", "reason", "team", "status", "created_at"]
    with transaction.atomic(), connection.cursor() as cursor:
        stage_warnings(
            cursor,
            [int(c) for c in flags["customer_id"].tolist()],
            codes,
            reasons,
            [WARNING_TEAMS.get(code, "marketing") for code in codes],
        )
        cursor.execute(
            f"INSERT INTO {q(GradeWarning._meta.db_table)} ({', '.join(q(c) for c in columns)}) "
            f"SELECT w.customer_id, %s, w.code, w.reason, w.team, %s, %s FROM {WARNING_STAGE} w "
            # Only customers that still exist (one may have been merged away since the read).
            f"WHERE EXISTS (SELECT 1 FROM {q(Customer._meta.db_table)} c WHERE c.id = w.customer_id) "
            f"ON CONFLICT DO NOTHING",
            [run.pk, WarningStatus.OPEN.value, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        raised = cursor.rowcount
        drop_stage(cursor, WARNING_STAGE)
    _analyze(GradeWarning._meta.db_table)
    return int(raised)
