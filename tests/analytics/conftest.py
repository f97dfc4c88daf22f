"""Shared fixtures of the analytics tests: CDNOW sample transactions and a tiny hand-made table."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

CDNOW_CAL_END = "1997-09-30"


def cdnow_path() -> Path:
    lifetimes = pytest.importorskip("lifetimes")
    return Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """Raw CDNOW 2,357-customer sample: customer id, customer index, yyyymmdd date, quantity, amount."""
    return pd.read_csv(
        cdnow_path(), sep=r"\s+", header=None, names=["customer_id", "customer_index", "date", "quantity", "amount"]
    )


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    from kehu.analytics import SummaryOptions, customer_summary

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return customer_summary(cdnow_transactions, CDNOW_CAL_END, SummaryOptions(time_unit="week", future="ignore"))


@pytest.fixture()
def tiny() -> pd.DataFrame:
    """Three customers with same-day lines, a refund and a line after the cutoff (2024-01-31)."""
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 2, 3, 3],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-08",
                    "2024-01-15",
                    "2024-01-10",
                    "2024-01-20",
                    "2024-01-03",
                    "2024-02-10",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 30.0, 40.0, -15.0, 7.0, 99.0],
        }
    )


@pytest.fixture(scope="session")
def spark_con():  # type: ignore[no-untyped-def]
    """An Ibis connection over one local SparkSession shared by the Spark tests (2 threads, 2 shuffle
    partitions, no UI). Skips with the reason when PySpark or Java is missing, except under CI=true,
    where the Spark tests must run (like PostgreSQL in the Makefile)."""
    import os

    from kehu.analytics.spark import connect_spark, spark_missing_reason, spark_session

    reason = spark_missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Spark tests cannot run in CI: {reason}")
        pytest.skip(f"Spark tests skipped: {reason}")
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"})
    session.sparkContext.setLogLevel("ERROR")
    yield connect_spark(session)
    session.stop()
