"""Command line interface: ``kehu analytics {fit,score,churn}`` on CSV or Parquet files."""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import AnalyticsError, AnalyticsWarning

if TYPE_CHECKING:
    import pandas as pd
    from tqdm import tqdm

__all__ = ["build_parser", "main"]

PROG = "kehu analytics"


def _add_columns(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customer-col", default="customer_id", help="customer id column (default: customer_id)")
    p.add_argument("--date-col", default="date", help="purchase date column (default: date)")
    p.add_argument("--amount-col", default="amount", help="amount column; refunds are negative (default: amount)")
    p.add_argument("--date-format", default=None, help="strptime format of text dates, e.g. %%Y%%m%%d (default: ISO)")


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=["duckdb", "spark"],
        default="duckdb",
        help="engine that reads the file and runs the aggregations: embedded DuckDB (default) or PySpark "
        "(needs the kehu[spark] extra and Java 17+)",
    )
    p.add_argument(
        "--spark-master",
        default="local[*]",
        help="Spark master with --engine spark: local[N] (default local[*]) or a cluster URL (spark://host:7077, yarn)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser (exposed so that the project's ``kehu`` command can embed it)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Customer analytics on transaction files (CSV/Parquet).")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no warnings")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit a BG/NBD, Pareto/NBD or Gamma-Gamma model")
    fit.add_argument("--model", required=True, choices=["bgnbd", "pareto-nbd", "gamma-gamma"])
    fit.add_argument("--transactions", required=True, help="CSV or Parquet transactions file")
    fit.add_argument("--calibration-end", required=True, help="last day (inclusive) of the calibration period")
    fit.add_argument("--time-unit", choices=["day", "week"], default="week")
    fit.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_columns(fit)
    _add_engine(fit)

    score = sub.add_parser("score", help="score every customer (RFM, tier, lifecycle, CLV, churn)")
    score.add_argument("--transactions", required=True, help="CSV or Parquet transactions file")
    score.add_argument("--cutoff", required=True, help="scoring date (inclusive); later lines are ignored")
    score.add_argument("--out", required=True, help="output CSV (or .parquet)")
    score.add_argument("--churn-horizon-days", type=int, default=90, help="churn = no purchase in N days (90)")
    score.add_argument("--rfm-period-days", type=int, default=365, help="RFM look-back window in days (365)")
    _add_columns(score)
    _add_engine(score)

    churn = sub.add_parser("churn", help="train and cross-validate a churn model on a customer feature table")
    churn.add_argument("--features", required=True, help="CSV or Parquet table, one row per customer")
    churn.add_argument("--id-col", required=True)
    churn.add_argument("--label-col", required=True)
    churn.add_argument("--positive", required=True, help="label value meaning 'churned' (e.g. Yes)")
    churn.add_argument("--out", required=True, help="output CSV: id, churn_probability, churn_reasons")
    churn.add_argument("--report", required=True, help="output JSON: cv_auc, calibration table, lift")
    churn.add_argument("--folds", type=int, default=5)
    churn.add_argument("--seed", type=int, default=0)
    return parser


@contextmanager
def _progress(total: int, quiet: bool, desc: str) -> Iterator[tqdm[Any]]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, file=sys.stderr, disable=quiet or not sys.stderr.isatty(), leave=False)
    try:
        yield bar
    finally:
        bar.close()


def _columns(args: argparse.Namespace) -> Any:
    from .sources import ColumnNames

    return ColumnNames(customer=args.customer_col, date=args.date_col, amount=args.amount_col)


def _read_transactions(args: argparse.Namespace) -> Any:
    """The transactions file as an Ibis table of the chosen engine (PySpark is imported only when asked for)."""
    from .sources import read_table

    if args.engine == "spark":
        from .spark import connect_spark, spark_session

        session = spark_session(args.spark_master)
        session.sparkContext.setLogLevel("ERROR")  # Spark's own WARN lines would drown the CLI's messages
        return read_table(args.transactions, connect_spark(session))
    return read_table(args.transactions)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _cmd_fit(args: argparse.Namespace) -> int:
    from .bgnbd import BetaGeoModel
    from .gamma_gamma import GammaGammaModel
    from .pareto_nbd import ParetoNBDModel
    from .summary import SummaryOptions, customer_summary

    table = _read_transactions(args)
    # Data after the calibration end is the hold-out period: excluding it is expected, not worth a warning.
    opts = SummaryOptions(time_unit=args.time_unit, future="ignore")
    summary = customer_summary(table, args.calibration_end, opts, _columns(args), args.date_format)
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    model: Any
    if args.model == "bgnbd":
        model = BetaGeoModel().fit(x, t_x, T)
    elif args.model == "pareto-nbd":
        model = ParetoNBDModel().fit(x, t_x, T)
    else:
        model = GammaGammaModel().fit(x, summary["avg_repeat_value"].fillna(0.0).to_numpy())
    result = _json_safe(model.to_dict())
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"model: {result['model']}  customers: {result['n_customers']}  "
            f"log-likelihood: {result['log_likelihood']:.4f}"
        )
        for name, value in result["params"].items():
            se = result["standard_errors"][name]
            print(f"  {name:>6} = {value:.6g}" + (f"  (se {se:.4g})" if se is not None else ""))
    return 0


def _write(df: pd.DataFrame, path: str) -> None:
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise AnalyticsError(f"output folder does not exist: {p.parent}")
    if p.suffix.lower() in {".parquet", ".pq"}:
        df.to_parquet(p, index=False)
    else:
        df.to_csv(p, index=False)


def _cmd_score(args: argparse.Namespace) -> int:
    from .scoring import SCORE_COLUMNS, ScoreConfig, score_customers

    table = _read_transactions(args)
    cfg = ScoreConfig(churn_horizon_days=args.churn_horizon_days, rfm_period_days=args.rfm_period_days)
    with _progress(4, args.quiet, "score") as bar:
        scores = score_customers(
            table, args.cutoff, cfg, _columns(args), progress=lambda _s: bar.update(1), date_format=args.date_format
        )
    _write(scores[SCORE_COLUMNS], args.out)
    if not args.quiet:
        print(f"scored {len(scores)} customers -> {args.out}", file=sys.stderr)
    return 0


def _cmd_churn(args: argparse.Namespace) -> int:
    from .churn import ChurnModel, prepare_feature_table
    from .sources import read_table

    df = read_table(args.features).to_pandas()
    X, y = prepare_feature_table(df, args.id_col, args.label_col, args.positive)
    with _progress(args.folds + 2, args.quiet, "churn") as bar:
        model = ChurnModel(n_splits=args.folds, random_state=args.seed, progress=bar.update).fit(X, y)
        scores = model.explain(X)
        bar.update(1)
    out = scores.reset_index(names=args.id_col)
    _write(out, args.out)
    Path(args.report).write_text(json.dumps(_json_safe(model.report()), indent=2), encoding="utf-8")
    if not args.quiet:
        print(f"cv_auc = {model.cv_auc_:.4f} (±{model.cv_auc_std_:.4f}); scores -> {args.out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input or usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse exits on --help (0) and usage errors (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    handlers = {"fit": _cmd_fit, "score": _cmd_score, "churn": _cmd_churn}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalyticsWarning)
        try:
            code = handlers[args.command](args)
        except (AnalyticsError, OSError, ValueError, KeyError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"{PROG}: error: {message}", file=sys.stderr)
            return 2
        finally:
            if not args.quiet:
                seen: set[str] = set()
                for w in caught:
                    text = str(w.message)
                    if issubclass(w.category, AnalyticsWarning) and text not in seen:
                        seen.add(text)
                        print(f"{PROG}: warning: {text}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
