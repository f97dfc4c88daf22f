"""`kehu import-scores`: scores computed outside the CRM (Spark, another Ibis engine) written back."""

from __future__ import annotations

import warnings
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from kehu.analytics.scoring import SCORE_COLUMNS, ScoreConfig, score_customers
from kehu.privacy.models import AuditEvent
from kehu.scoring.models import CustomerScore, GradeSnapshot, RunStatus, ScoringRun
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _external_scores(customer_ids: list[int]) -> pd.DataFrame:
    """What `kehu analytics score` writes for transactions whose customer ids are the CRM's."""
    rng = np.random.default_rng(7)
    n = 1500
    tx = pd.DataFrame(
        {
            "customer_id": rng.choice(customer_ids, n),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score_customers(tx, "2025-02-15", ScoreConfig(future="ignore"))[SCORE_COLUMNS]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("import_scores", *args, stdout=out)
    return out.getvalue()


def test_import_writes_a_scoring_run_like_an_internal_one(tmp_path: Path) -> None:
    ids = [make_customer(f"顾客{i}").pk for i in range(60)]
    scores = _external_scores(ids)
    ghost = scores.iloc[[0]].assign(customer_id=max(ids) + 1000)
    path = tmp_path / "scores.csv"
    pd.concat([scores, ghost]).to_csv(path, index=False)

    out = _run(str(path), "--cutoff", "2025-02-15")

    run = ScoringRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and str(run.cutoff) == "2025-02-15"
    assert run.customers_scored == len(scores) == CustomerScore.objects.count() == GradeSnapshot.objects.count()
    assert "1 row(s) named no existing customer" in run.message and "scores.csv" in run.message
    assert f"imported {len(scores)} customer scores" in out and "1 rows skipped" in out
    for row in scores.itertuples(index=False):
        stored = CustomerScore.objects.get(customer_id=row.customer_id)
        assert (stored.r_grade, stored.f_grade, stored.m_grade, stored.tier) == (
            row.r_grade,
            row.f_grade,
            row.m_grade,
            row.tier,
        )
        assert stored.rfm_class == row.rfm_class and stored.lifecycle_stage == row.lifecycle_stage
        assert stored.recency_days == row.recency_days and stored.frequency == row.frequency
        assert float(stored.monetary) == pytest.approx(row.monetary, abs=0.005)
        if not np.isnan(row.p_alive):
            assert stored.p_alive == pytest.approx(row.p_alive, abs=1e-12)
    event = AuditEvent.objects.get(object_type="scoring_run", object_id=str(run.pk))
    assert event.after["source"] == "scores.csv" and event.after["customers_scored"] == len(scores)


def test_reimport_replaces_current_scores_and_keeps_history(tmp_path: Path) -> None:
    ids = [make_customer(f"顾客{i}").pk for i in range(40)]
    path = tmp_path / "scores.parquet"
    _external_scores(ids).to_parquet(path, index=False)
    _run(str(path), "--cutoff", "2025-01-01")
    first = CustomerScore.objects.count()
    _run(str(path), "--cutoff", "2025-04-01")
    assert CustomerScore.objects.count() == first  # one current score per customer, no duplicates
    assert GradeSnapshot.objects.count() == 2 * first  # one snapshot per run
    assert set(CustomerScore.objects.values_list("run__cutoff", flat=True)) == {pd.Timestamp("2025-04-01").date()}


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    ids = [make_customer(f"顾客{i}").pk for i in range(30)]
    path = tmp_path / "scores.csv"
    _external_scores(ids).to_csv(path, index=False)
    out = _run(str(path), "--cutoff", "2025-02-15", "--dry-run")
    assert "nothing written" in out and "0 would be skipped" in out
    assert not ScoringRun.objects.exists() and not CustomerScore.objects.exists()
    assert not AuditEvent.objects.filter(object_type="scoring_run").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop(columns=["tier"]), "missing column(s): tier"),
        (lambda df: pd.concat([df, df.iloc[[0]]]), "customer_id appears more than once"),
        (lambda df: df.assign(customer_id=df["customer_id"].astype(str).where(df.index != 1, "abc")), "customer_id"),
        (lambda df: df.assign(tier=df["tier"].where(df.index != 2, "platinum")), "tier must be one of"),
        (lambda df: df.assign(p_alive=df["p_alive"].where(df.index != 0, 1.5)), "p_alive must be between 0 and 1"),
        (lambda df: df.assign(frequency=df["frequency"].where(df.index != 0, -1)), "frequency must be a whole number"),
        (lambda df: df.assign(monetary=df["monetary"].astype(str).where(df.index != 0, "lots")), "monetary"),
        (lambda df: df.assign(lifecycle_stage="zombie"), "lifecycle_stage must be one of"),
        (lambda df: df.iloc[0:0], "no scores"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(tmp_path: Path, change: object, message: str) -> None:
    ids = [make_customer(f"顾客{i}").pk for i in range(30)]
    good = _external_scores(ids)
    good_path = tmp_path / "good.csv"
    good.to_csv(good_path, index=False)
    _run(str(good_path), "--cutoff", "2025-01-01")
    before = list(CustomerScore.objects.order_by("pk").values_list("pk", "run_id", "tier", "monetary"))
    runs = ScoringRun.objects.count()

    bad_path = tmp_path / "bad.csv"
    change(good.reset_index(drop=True)).to_csv(bad_path, index=False)  # type: ignore[operator]
    with pytest.raises(CommandError, match="nothing was imported") as info:
        _run(str(bad_path), "--cutoff", "2025-04-01")
    assert message in str(info.value)
    assert list(CustomerScore.objects.order_by("pk").values_list("pk", "run_id", "tier", "monetary")) == before
    assert ScoringRun.objects.count() == runs


def test_unreadable_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="file not found"):
        _run(str(tmp_path / "nope.csv"), "--cutoff", "2025-01-01")
    other = tmp_path / "scores.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(CommandError, match="unsupported file type"):
        _run(str(other), "--cutoff", "2025-01-01")
    broken = tmp_path / "scores.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(CommandError, match=r"cannot read scores\.parquet"):
        _run(str(broken), "--cutoff", "2025-01-01")
    assert not ScoringRun.objects.exists()
