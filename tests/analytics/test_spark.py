"""The same Ibis aggregations on PySpark (local mode) give the DuckDB results: summaries to 1e-9, identical
grades, tiers, segments and lifecycle stages. Spark starts once per test session (``spark_con`` in conftest)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_backends import _assert_same, _summary, _transactions  # the DuckDB/SQLite/PostgreSQL fixture data

from kehu.analytics import SummaryOptions, customer_summary
from kehu.analytics.cli import main
from kehu.analytics.exceptions import AnalyticsInputError, DataQualityWarning
from kehu.analytics.scoring import SCORE_COLUMNS, ScoreConfig, score_customers

pytestmark = pytest.mark.spark

CDNOW_CAL_END = "1997-09-30"

MODEL_OUTPUTS = {
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "expected_spend",
    "clv_365d",
}
GRADE_COLUMNS = ["r_grade", "f_grade", "m_grade", "rf_cell", "rfm_class", "tier", "segment", "lifecycle_stage"]


def _spark_table(con: Any, df: pd.DataFrame, name: str) -> Any:
    """Register a pandas frame as a Spark temporary view and return it as an Ibis table of the Spark backend."""
    con._session.createDataFrame(df).createOrReplaceTempView(name)
    return con.table(name)


def test_spark_summary_matches_duckdb(spark_con: Any) -> None:
    df = _transactions()
    table = _spark_table(spark_con, df, "kehu_tx")
    assert table.get_backend().name == "pyspark"
    _assert_same(_summary(df), _summary(table))


def test_spark_reads_crm_column_types(spark_con: Any) -> None:
    """DATE dates, DECIMAL(14,2) amounts (the CRM's money columns) and text customer ids compile and agree."""
    df = _transactions()
    _spark_table(spark_con, df, "kehu_tx_raw")
    spark_con._session.sql(
        "CREATE OR REPLACE TEMP VIEW kehu_tx_typed AS SELECT CONCAT('C', CAST(customer_id AS STRING)) AS customer_id, "
        "CAST(date AS DATE) AS date, CAST(amount AS DECIMAL(14, 2)) AS amount FROM kehu_tx_raw"
    )
    typed = spark_con.table("kehu_tx_typed")
    assert typed.amount.type().is_decimal() and typed.date.type().is_date()
    local = df.assign(customer_id="C" + df["customer_id"].astype(str))
    _assert_same(_summary(local), _summary(typed))


def test_spark_text_dates_with_a_format(spark_con: Any) -> None:
    df = _transactions()
    text = df.assign(date=df["date"].dt.strftime("%d/%m/%Y"))
    table = _spark_table(spark_con, text, "kehu_tx_text")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = customer_summary(table, "2024-03-31", SummaryOptions(period_days=180), date_format="%d/%m/%Y")
    _assert_same(_summary(df), got)


def test_spark_reports_the_same_data_quality_warnings(spark_con: Any, tiny: pd.DataFrame) -> None:
    dup = pd.concat([tiny, tiny.iloc[[0]]], ignore_index=True)

    def messages(table: Any) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataQualityWarning)
            customer_summary(table, "2024-01-31")
        return sorted(str(w.message) for w in caught if issubclass(w.category, DataQualityWarning))

    on_spark = messages(_spark_table(spark_con, dup, "kehu_tiny"))
    assert on_spark == messages(dup)
    assert any("dated after the cutoff" in m for m in on_spark)
    assert any("duplicate" in m for m in on_spark)


def test_spark_empty_after_cutoff_is_a_clear_error(spark_con: Any, tiny: pd.DataFrame) -> None:
    table = _spark_table(spark_con, tiny, "kehu_tiny_early")
    with (
        pytest.raises(AnalyticsInputError, match="no purchase found on or before the cutoff"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        customer_summary(table, "2023-12-31")


def test_spark_scores_and_grades_match_duckdb(spark_con: Any, cdnow_transactions: pd.DataFrame) -> None:
    """The whole scoring (summary, grades, BG/NBD, Gamma-Gamma, CLV, churn features, model and reasons) on CDNOW,
    whose history supports every model."""
    cfg = ScoreConfig(future="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = score_customers(cdnow_transactions, "1998-06-30", cfg)
        got = score_customers(_spark_table(spark_con, cdnow_transactions, "kehu_cdnow_score"), "1998-06-30", cfg)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) == 2357
    for col in GRADE_COLUMNS:
        assert (got[col].astype(str).to_numpy() == expected[col].astype(str).to_numpy()).all(), col
    # Churn features are money-rounded (churn.MONEY_DECIMALS), so the boosted model is the same on both engines.
    assert (got["churn_reasons"].to_numpy() == expected["churn_reasons"].to_numpy()).all()
    numeric = [c for c in expected.columns if pd.api.types.is_numeric_dtype(expected[c])]
    for col in numeric:
        # Aggregates (and churn probabilities) agree to 1e-9. The BG/NBD and Gamma-Gamma outputs come from
        # iterative fits whose optimiser turns the engines' last-digit differences in floating-point sums (1e-13)
        # into ~1e-10 relative differences: compared to 1e-7 relative.
        tolerance = {"rtol": 1e-7, "atol": 1e-12} if col in MODEL_OUTPUTS else {"rtol": 0, "atol": 1e-9}
        np.testing.assert_allclose(
            got[col].to_numpy(float), expected[col].to_numpy(float), equal_nan=True, err_msg=col, **tolerance
        )
    # The fits are not vacuous: the data supports every model.
    assert got["p_alive"].notna().all() and got["clv_365d"].notna().all() and got["churn_probability"].notna().all()
    assert (got["churn_reasons"] != "").sum() > 1000
    assert set(got["tier"]) == {"gold", "silver", "bronze"}


def test_spark_cdnow_summary_matches_duckdb(spark_con: Any, cdnow_transactions: pd.DataFrame) -> None:
    table = _spark_table(spark_con, cdnow_transactions, "kehu_cdnow")
    opts = SummaryOptions(time_unit="week", future="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = customer_summary(cdnow_transactions, CDNOW_CAL_END, opts)
        got = customer_summary(table, CDNOW_CAL_END, opts)
    assert len(got) == 2357
    _assert_same(expected, got)


def test_cli_score_on_spark_matches_duckdb(spark_con: Any, tmp_path: Path) -> None:
    df = _transactions()
    src = tmp_path / "tx.parquet"
    df.to_parquet(src, index=False)
    common = ["score", "--cutoff", "2024-03-31", "--rfm-period-days", "180"]
    assert main(["-q", *common, "--transactions", str(src), "--out", str(tmp_path / "duck.csv")]) == 0
    argv = ["-q", *common, "--engine", "spark", "--spark-master", "local[2]"]
    assert main([*argv, "--transactions", str(src), "--out", str(tmp_path / "spark.csv")]) == 0
    duck = pd.read_csv(tmp_path / "duck.csv")
    assert list(duck.columns) == SCORE_COLUMNS
    spark = pd.read_csv(tmp_path / "spark.csv")
    assert list(spark.columns) == SCORE_COLUMNS
    for col in SCORE_COLUMNS:
        if pd.api.types.is_numeric_dtype(duck[col]):
            tolerance = {"rtol": 1e-7, "atol": 1e-12} if col in MODEL_OUTPUTS else {"rtol": 0, "atol": 1e-9}
            np.testing.assert_allclose(
                spark[col].to_numpy(float), duck[col].to_numpy(float), equal_nan=True, err_msg=col, **tolerance
            )
        else:
            assert (spark[col].fillna("").astype(str) == duck[col].fillna("").astype(str)).all(), col


def test_cli_fit_on_spark_reads_cdnow_columns(spark_con: Any, tmp_path: Path, cdnow_transactions: pd.DataFrame) -> None:
    src = tmp_path / "cdnow.csv"
    cdnow_transactions.to_csv(src, index=False)
    base = ["fit", "--model", "bgnbd", "--transactions", str(src), "--calibration-end", CDNOW_CAL_END, "--json"]
    outputs = []
    for engine in ("duckdb", "spark"):
        proc_out = tmp_path / f"{engine}.json"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["-q", *base, "--engine", engine]) == 0
        proc_out.write_text(buf.getvalue())
        outputs.append(pd.read_json(proc_out, typ="series"))
    duck, spark = outputs
    assert duck["n_customers"] == spark["n_customers"] == 2357
    for name, value in duck["params"].items():
        assert spark["params"][name] == pytest.approx(value, rel=1e-9)


def test_cli_spark_bad_file_is_a_clear_error(
    spark_con: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "tx.csv"
    bad.write_text("customer_id,date,amount\n1,not a date,12.5\n2,2024-01-02,abc\n")
    code = main(
        [
            "score",
            "--engine",
            "spark",
            "--transactions",
            str(bad),
            "--cutoff",
            "2024-03-31",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


# --- without Spark: the reasons, and the web app never loads PySpark ------------------------------------------


def test_missing_pyspark_or_java_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from kehu.analytics import spark

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real_find_spec(name, *a)
    )
    assert "pip install 'kehu[spark]'" in (spark.spark_missing_reason() or "")
    with pytest.raises(spark.SparkUnavailableError, match="PySpark is not installed"):
        spark.connect_spark()
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark.shutil, "which", lambda name: None)
    assert "Java 17" in (spark.spark_missing_reason() or "")


def test_cli_without_spark_exits_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kehu.analytics import spark

    monkeypatch.setattr(spark, "spark_missing_reason", lambda: "PySpark is not installed (pip install 'kehu[spark]')")
    src = tmp_path / "tx.csv"
    _transactions().to_csv(src, index=False)
    argv = ["score", "--engine", "spark", "--transactions", str(src), "--cutoff", "2024-03-31"]
    assert main([*argv, "--out", str(tmp_path / "o.csv")]) == 2
    assert "cannot use Spark: PySpark is not installed" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_pyspark_is_imported_lazily() -> None:
    """The analytics package, its CLI parser, DuckDB scoring and the whole web app load without PySpark."""
    code = (
        "import os, sys, warnings; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kehu.settings');"
        "import django; django.setup(); import kehu.urls, kehu.scoring.actions, kehu.scoring.source;"
        "import kehu.analytics, kehu.analytics.cli, kehu.analytics.spark; kehu.analytics.cli.build_parser();"
        "import pandas as pd; warnings.simplefilter('ignore');"
        "kehu.analytics.customer_summary(pd.DataFrame({'customer_id': [1, 1], 'date': ['2024-01-01', '2024-02-01'],"
        " 'amount': [1.0, 2.0]}), '2024-03-01');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_spark_reads_urls_and_part_folders(spark_con: Any, tmp_path: Path) -> None:
    """On a cluster, files are URLs the executors read (not checked locally) or folders of part files."""
    from kehu.analytics.sources import read_table

    df = _transactions()
    single = tmp_path / "tx.parquet"
    df.to_parquet(single, index=False)
    folder = tmp_path / "parts.parquet"
    spark_con._session.createDataFrame(df).repartition(3).write.parquet(str(folder))
    for location in (f"file://{single}", str(folder)):
        table = read_table(location, spark_con)
        assert int(table.count().to_pyarrow().as_py()) == len(df)
    with pytest.raises(AnalyticsInputError, match="expected a file, got a directory"):
        read_table(folder)  # DuckDB: a folder is not a file
    with pytest.raises(AnalyticsInputError, match="cannot read"):
        read_table(f"file://{tmp_path}/missing.parquet", spark_con)
