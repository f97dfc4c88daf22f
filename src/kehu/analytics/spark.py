"""Run the analytics on PySpark through Ibis: the optional extra ``pip install 'kehu[spark]'`` (Java 17+).

Nothing here is imported by the rest of kehu: PySpark (and its JVM) is loaded only when a Spark connection is
asked for, so the web app and the DuckDB/SQL engines never pay for it. The aggregations themselves are the same
Ibis expressions on every engine (see :mod:`kehu.analytics.summary`): pass a table of a Spark connection
wherever a transactions table is expected.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .exceptions import AnalyticsError

__all__ = ["SparkUnavailableError", "connect_spark", "spark_missing_reason", "spark_session"]

INSTALL_HINT = "pip install 'kehu[spark]'"

# Settings of a session started here. Local runs are small jobs: a few shuffle partitions instead of Spark's
# 200, no web UI (it binds a port), no console progress bar (the CLI draws its own). Day numbers are computed
# from calendar dates, so the session time zone only matters for TIMESTAMP inputs: UTC, as Ibis itself sets.
LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class SparkUnavailableError(AnalyticsError):
    """PySpark is not installed, Java is missing, or the Spark session could not start."""


def _java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def spark_missing_reason() -> str | None:
    """Why a Spark session cannot start on this machine (PySpark or Java missing), or None when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return f"PySpark is not installed ({INSTALL_HINT})"
    if not _java_found():
        return "Java 17 or newer was not found (install a JDK or set JAVA_HOME); PySpark needs it"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def spark_session(
    master: str = "local[*]",
    conf: Mapping[str, str] | None = None,
    app_name: str = "kehu-analytics",
) -> Any:
    """Start (or reuse: Spark allows one per process) a SparkSession.

    ``master`` is ``local[N]`` for an embedded Spark on this machine, or a cluster URL (``spark://host:7077``,
    ``yarn``, ``k8s://...``). ``conf`` entries override :data:`LOCAL_DEFAULTS`; with a local master the shuffle
    partitions default to twice the cores instead of 200.
    """
    reason = spark_missing_reason()
    if reason is not None:
        raise SparkUnavailableError(f"cannot use Spark: {reason}")
    from pyspark.sql import SparkSession

    settings = dict(LOCAL_DEFAULTS)
    if master.startswith("local"):
        settings["spark.sql.shuffle.partitions"] = str(2 * (os.cpu_count() or 2))
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start (Java too old, no memory, bad master URL)
        raise SparkUnavailableError(f"cannot start Spark ({master}): {_first_line(exc)}") from exc


def connect_spark(
    session: Any | None = None,
    master: str = "local[*]",
    conf: Mapping[str, str] | None = None,
) -> Any:
    """An Ibis connection over a SparkSession (``session``, or one started by :func:`spark_session`).

    Read files with ``con.read_csv(path)`` / ``con.read_parquet(path)`` (or :func:`kehu.analytics.read_table`
    with ``con=``), tables of the cluster's catalogue with ``con.table(name)``, then pass the table to
    :func:`~kehu.analytics.customer_summary` or :func:`~kehu.analytics.scoring.score_customers` unchanged.
    """
    if session is None:
        session = spark_session(master, conf)
    import ibis

    return ibis.pyspark.connect(session)
