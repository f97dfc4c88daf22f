"""Benchmark of in-CRM scoring end to end: read the orders, score, write back (current scores, grade
snapshots, early warnings) and the company insights, per stage.

Run against a database with demo data (its scoring tables get new runs, as `kehu score-customers` does):

    DATABASE_URL=postgres://bench:…@127.0.0.1:5432/kehu_load python benchmarks/bench_scoring_crm.py

It runs `do_run_scoring` once per cutoff (default: three quarters, so the later runs compare grades
with earlier runs and raise warnings) and prints the wall time of every stage. `--legacy` then
times the previous ORM write-back (20k-row `bulk_create` batches, ORM-read snapshots) on the last
run's scores and the new set-based write-back again, in the same process, for a before/after."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INTERVALS = {
    "scoring": "read",
    "summary": "summary",
    "bgnbd": "BG/NBD",
    "gamma-gamma": "Gamma-Gamma",
    "churn": "lifecycle+churn",
    "writing scores": "(notes)",
    "early warnings": "write",
    "cohorts and affinity": "warnings",
    "end": "insights",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cutoffs",
        default="2026-05-31,2026-08-31,2026-11-22",
        help="comma-separated cutoff dates, oldest first (default: three quarters of the demo data)",
    )
    parser.add_argument("--engine", choices=["auto", "database", "duckdb"], default="auto")
    parser.add_argument("--legacy", action="store_true", help="also time the previous ORM write-back")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.db import connection

    from kehu.scoring import actions
    from kehu.scoring.models import CustomerScore, GradeWarning, RunStatus, ScoringRun

    marks: list[tuple[str, float]] = []
    captured: dict[str, Any] = {}
    progress, write_scores = actions._progress, actions.do_write_scores

    def record(run: Any, percent: int, stage: str) -> None:
        marks.append((stage, time.perf_counter()))
        progress(run, percent, stage)

    def capture(run: Any, scores: Any) -> int:
        captured["scores"] = scores
        return write_scores(run, scores)

    actions._progress = record  # type: ignore[assignment]
    actions.do_write_scores = capture  # type: ignore[assignment]

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, engine: {args.engine}")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print(f"{'cutoff':<12} {'customers':>10} {'warnings':>9} {'total s':>8}  stages (s)")
    run = None
    for cutoff in [dt.date.fromisoformat(c) for c in args.cutoffs.split(",")]:
        marks.clear()
        run = ScoringRun.objects.create(cutoff=cutoff)
        started = time.perf_counter()
        marks.append(("reading orders", started))
        run = actions.do_run_scoring(run, engine=args.engine)
        ended = time.perf_counter()
        if run.status != RunStatus.SUCCEEDED:
            print(f"{cutoff} failed: {run.message}")
            return 1
        marks.append(("end", ended))
        # Each interval is named by the mark that ends it: the scoring actions report the stage they are
        # starting, the engine's callback the step it has finished.
        stages = ", ".join(
            f"{INTERVALS.get(end, end)} {t1 - t0:.1f}" for (_, t0), (end, t1) in itertools.pairwise(marks)
        )
        print(f"{cutoff!s:<12} {run.customers_scored:>10,} {run.warnings_raised:>9,} {ended - started:>8.1f}  {stages}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB; load average at the end {os.getloadavg()[0]:.1f}")

    if args.legacy and run is not None:
        sys.path.insert(0, str(ROOT))
        from tests.scoring.test_writeback import legacy_raise_grade_warnings, legacy_write_scores

        scores = captured["scores"]
        rows = []
        for label, write, warn in (
            ("previous ORM write-back", legacy_write_scores, legacy_raise_grade_warnings),
            ("set-based write-back", write_scores, actions.do_raise_grade_warnings),
        ):
            t0 = time.perf_counter()
            written = write(run, scores)
            t1 = time.perf_counter()
            raised = warn(run)
            t2 = time.perf_counter()
            rows.append((label, written, t1 - t0, raised, t2 - t1))
        print(f"\nwrite-back of the last run ({run.cutoff}), same scores, same process:")
        print(f"{'path':<26} {'scores':>10} {'write s':>8} {'warnings':>9} {'warn s':>7}")
        for label, written, t_write, raised, t_warn in rows:
            print(f"{label:<26} {written:>10,} {t_write:>8.1f} {raised:>9,} {t_warn:>7.1f}")
        assert CustomerScore.objects.filter(run=run).count() == rows[-1][1]
        assert GradeWarning.objects.filter(run=run).count() == rows[-1][3]
    return 0


if __name__ == "__main__":
    sys.exit(main())
