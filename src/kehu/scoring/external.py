"""Scores computed outside the CRM (`kehu analytics score` on Spark, DuckDB or another Ibis engine, over
the CRM's own orders) written back as a scoring run: the same tables, grade history and early
warnings as a run computed inside the CRM."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from kehu.analytics.lifecycle import STAGES
from kehu.analytics.scoring import SCORE_COLUMNS
from kehu.privacy.actions import do_audit
from kehu.scoring.actions import do_raise_grade_warnings, do_write_scores
from kehu.scoring.models import RunStatus, ScoringRun, Tier

if TYPE_CHECKING:
    import pandas as pd

    from kehu.accounts.models import User

logger = logging.getLogger(__name__)

# The columns `kehu analytics score` writes; `segment` is optional.
REQUIRED_COLUMNS = tuple(SCORE_COLUMNS)
LIFECYCLE_STAGES = STAGES
TEXT_LIMITS = {"r_grade": 2, "f_grade": 2, "m_grade": 2, "rfm_class": 6, "segment": 40}


class ScoreFileError(ValueError):
    """The scores file cannot be imported; nothing was written."""


def _bad_rows(mask: Any, df: pd.DataFrame) -> str:
    rows = [int(i) + 2 for i in df.index[mask][:5]]  # spreadsheet row numbers (header is row 1)
    return ", ".join(map(str, rows))


def read_scores_file(path: str | Path) -> pd.DataFrame:
    """Read and validate a CSV or Parquet scores file. Raises ScoreFileError with the first bad rows."""
    import numpy as np
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ScoreFileError(f"file not found: {p}")
    try:
        if p.suffix.lower() in {".parquet", ".pq"}:
            df = pd.read_parquet(p)
        elif p.suffix.lower() in {".csv", ".txt"}:
            df = pd.read_csv(p, keep_default_na=False, na_values=[""])
        else:
            raise ScoreFileError(f"unsupported file type {p.suffix!r}: use .csv or .parquet")
    except ScoreFileError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()
        raise ScoreFileError(f"cannot read {p.name}: {first[0] if first else type(exc).__name__}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ScoreFileError(f"missing column(s): {', '.join(missing)}")
    if df.empty:
        raise ScoreFileError("the file has no scores")
    df = df.reset_index(drop=True)
    ids = pd.to_numeric(df["customer_id"], errors="coerce")
    bad = ids.isna().to_numpy() | (ids.fillna(0) % 1 != 0).to_numpy()
    if bad.any():
        raise ScoreFileError(f"customer_id must be a whole number (row {_bad_rows(bad, df)})")
    df["customer_id"] = ids.astype("int64")
    dup = df["customer_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise ScoreFileError(f"customer_id appears more than once (row {_bad_rows(dup, df)})")
    for col in ("recency_days", "frequency"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna().to_numpy() | (values.fillna(0) < 0).to_numpy() | (values.fillna(0) % 1 != 0).to_numpy()
        if bad.any():
            raise ScoreFileError(f"{col} must be a whole number of at least 0 (row {_bad_rows(bad, df)})")
        df[col] = values.astype("int64")
    numeric = ("monetary", "p_alive", "expected_purchases_90d", "expected_purchases_365d", "clv_365d")
    for col in (*numeric, "churn_probability"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = (values.isna() & df[col].notna()).to_numpy()
        if bad.any():
            raise ScoreFileError(f"{col} must be a number (row {_bad_rows(bad, df)})")
        df[col] = values.astype("float64")
    for col in ("p_alive", "churn_probability"):
        v = df[col].to_numpy()
        bad = ~np.isnan(v) & ((v < 0) | (v > 1))
        if bad.any():
            raise ScoreFileError(f"{col} must be between 0 and 1 (row {_bad_rows(bad, df)})")
    text_cols = ["r_grade", "f_grade", "m_grade", "rfm_class", "tier", "lifecycle_stage", "churn_reasons"]
    if "segment" in df.columns:
        text_cols.append("segment")
    for col in text_cols:
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    for col, limit in TEXT_LIMITS.items():
        if col in df.columns:
            bad = (df[col].str.len() > limit).to_numpy()
            if bad.any():
                raise ScoreFileError(f"{col} is longer than {limit} characters (row {_bad_rows(bad, df)})")
    bad = ~df["tier"].isin(["", *Tier.values]).to_numpy()
    if bad.any():
        raise ScoreFileError(f"tier must be one of {', '.join(Tier.values)} or empty (row {_bad_rows(bad, df)})")
    bad = ~df["lifecycle_stage"].isin(["", *LIFECYCLE_STAGES]).to_numpy()
    if bad.any():
        raise ScoreFileError(
            f"lifecycle_stage must be one of {', '.join(LIFECYCLE_STAGES)} or empty (row {_bad_rows(bad, df)})"
        )
    return df


def existing_customer_ids() -> list[int]:
    """Every customer id (an IN list of a million ids would exceed SQLite's parameter limit)."""
    from kehu.customers.models import Customer

    return list(Customer.objects.values_list("pk", flat=True))


def _crm_insights(cutoff: dt.date, scores: pd.DataFrame, notes: list[str]) -> dict[str, Any]:
    """The run's company-level results (cohorts, affinity, forecast) from the CRM's own orders, as
    an in-CRM run computes them; a failure leaves the imported scores standing."""
    from kehu.scoring.insights import compute_insights
    from kehu.scoring.source import connect_crm, crm_transactions, crm_transactions_frame, database_engine_available

    try:
        table = crm_transactions(connect_crm()) if database_engine_available() else crm_transactions_frame()
        return compute_insights(table, cutoff, scores)
    except Exception as exc:
        logger.exception("insights of an imported scoring run failed")
        notes.append(f"cohorts/affinity not computed: {exc}")
        return {}


def do_import_scores(
    actor: User | None, cutoff: dt.date, scores: pd.DataFrame, source: str, *, insights: bool = True
) -> tuple[ScoringRun, int]:
    """Write validated external scores (see `read_scores_file`) as a new succeeded scoring run at
    `cutoff`: current scores replaced, grade snapshots kept, early warnings raised against the
    previous runs, company insights computed from the CRM's orders (unless `insights` is False),
    audited. Returns the run and how many rows named no existing customer (skipped)."""
    skipped = int((~scores["customer_id"].isin(existing_customer_ids())).sum())
    run = ScoringRun.objects.create(
        cutoff=cutoff, triggered_by=actor, status=RunStatus.RUNNING, started_at=timezone.now(), stage="importing"
    )
    try:
        written = do_write_scores(run, scores)
        raised = do_raise_grade_warnings(run)
        notes: list[str] = []
        run_insights = _crm_insights(cutoff, scores, notes) if insights else {}
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), message=str(exc)[:2000]
        )
        raise
    note = f"imported from {source}" + (
        f"; {skipped} row(s) named no existing customer and were skipped" if skipped else ""
    )
    note = "\n".join([note, *notes])
    ScoringRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now(),
        progress=100,
        stage="done",
        customers_scored=written,
        warnings_raised=raised,
        insights=run_insights,
        message=note[:2000],
    )
    do_audit(
        actor,
        "create",
        "scoring_run",
        run.pk,
        after={"cutoff": str(cutoff), "source": source, "customers_scored": written, "skipped": skipped},
        via="cli",
    )
    run.refresh_from_db()
    return run, skipped
