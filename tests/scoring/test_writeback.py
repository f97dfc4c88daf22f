"""The set-based write-back (staging table + one upsert) stores exactly what the ORM batches it
replaced stored: the same current scores, grade snapshots and early warnings, and re-running a
run neither duplicates nor changes anything. `legacy_*` below is the previous implementation,
kept verbatim as the reference."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.utils import timezone

from kehu.analytics.scoring import ScoreConfig, score_customers
from kehu.scoring.actions import WARNING_CODES_KEPT, WARNING_TEAMS, do_raise_grade_warnings, do_write_scores
from kehu.scoring.models import CustomerScore, GradeSnapshot, GradeWarning, RunStatus, ScoringRun
from kehu.scoring.source import crm_transactions_frame
from kehu.scoring.writeback import MAX_MONEY, money_cents, money_text
from tests.scoring.test_scoring import CUTOFFS, build_history

# --- the previous ORM implementation (reference) ------------------------------------------------

LEGACY_BATCH = 20_000  # the tests below use 40, so that several batches are written


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


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


def legacy_write_scores(run: ScoringRun, scores: pd.DataFrame) -> int:
    from django.db import transaction

    from kehu.customers.models import Customer

    scores = scores[scores["customer_id"].isin(list(Customer.objects.values_list("pk", flat=True)))]
    now = timezone.now()
    update_fields = [f.name for f in CustomerScore._meta.concrete_fields if not f.primary_key]
    with transaction.atomic():
        GradeSnapshot.objects.filter(run=run).delete()
        batch: list[CustomerScore] = []
        written = 0
        for score in _score_rows(run, scores, now):
            batch.append(score)
            if len(batch) >= LEGACY_BATCH:
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


def legacy_raise_grade_warnings(run: ScoringRun, history: int = 3) -> int:
    from kehu.analytics.trends import grade_trend_warnings

    previous = list(
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED, cutoff__lt=run.cutoff)
        .order_by("-cutoff")
        .values_list("pk", flat=True)[: history - 1]
    )
    GradeWarning.objects.filter(run=run).delete()
    if not previous:
        return 0
    snapshots = pd.DataFrame.from_records(
        GradeSnapshot.objects.filter(run_id__in=[*previous, run.pk]).values_list(
            "customer_id", "cutoff", "r_grade", "f_grade", "m_grade", "tier"
        ),
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


# --- helpers --------------------------------------------------------------------------------------

SCORE_FIELDS = [f.attname for f in CustomerScore._meta.concrete_fields if f.attname not in {"run_id", "scored_at"}]
SNAPSHOT_FIELDS = [
    "customer_id",
    "cutoff",
    "r_grade",
    "f_grade",
    "m_grade",
    "tier",
    "lifecycle_stage",
    "churn_probability",
]


def stored() -> dict[str, Any]:
    """Everything the write-back stores, keyed by what identifies it (runs by their cutoff)."""
    cutoff_of = dict(ScoringRun.objects.values_list("pk", "cutoff"))
    return {
        "scores": sorted(
            (*row, cutoff_of[run_id])
            for *row, run_id in CustomerScore.objects.values_list(*SCORE_FIELDS, "run_id").order_by("customer_id")
        ),
        "snapshots": sorted(
            (cutoff_of[run_id], *row) for run_id, *row in GradeSnapshot.objects.values_list("run_id", *SNAPSHOT_FIELDS)
        ),
        "warnings": sorted(
            (cutoff_of[run_id], *row)
            for run_id, *row in GradeWarning.objects.values_list(
                "run_id", "customer_id", "code", "reason", "team", "status"
            )
        ),
    }


def wipe() -> None:
    GradeWarning.objects.all().delete()
    GradeSnapshot.objects.all().delete()
    CustomerScore.objects.all().delete()
    ScoringRun.objects.all().delete()


def with_edge_cases(scores: pd.DataFrame, gone_customer: int) -> pd.DataFrame:
    """The engine's output plus the values the write-back must treat exactly like the ORM did:
    half-cent ties, absurd and missing estimates, reasons with and without text, a customer
    deleted since the orders were read."""
    out = scores.copy()
    out.loc[out.index[0], "monetary"] = 2.675  # binary 2.67499999…: Python's round gives 2.67
    out.loc[out.index[1], "monetary"] = 0.125  # an exact tie: ties to even, 0.12
    out.loc[out.index[2], "monetary"] = float("nan")  # missing spend is stored as 0
    out.loc[out.index[3], "clv_365d"] = 1e15  # beyond the column: unknown
    out.loc[out.index[4], "clv_365d"] = float("inf")
    out.loc[out.index[5], "clv_365d"] = -1234.565
    out.loc[out.index[6], "p_alive"] = float("nan")
    out.loc[out.index[7], "churn_reasons"] = "recency_days=120 (+0.31); total_amount=80 (+0.05); 客户=x (+0.02)"
    out.loc[out.index[8], "clv_365d"] = 999_999_999_999.99
    out.loc[out.index[9], "expected_purchases_90d"] = 1 / 3
    out.loc[out.index[12], "churn_reasons"] = None
    ghost = out.iloc[[10]].copy()
    ghost["customer_id"] = gone_customer
    return pd.concat([out, ghost], ignore_index=True)


def run_all(frames: dict[dt.date, pd.DataFrame], write: Any, warn: Any) -> list[tuple[int, int]]:
    counts = []
    for cutoff in CUTOFFS:
        run = ScoringRun.objects.create(cutoff=cutoff)
        written = write(run, frames[cutoff])
        raised = warn(run)
        ScoringRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
        counts.append((written, raised))
    return counts


# --- tests ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_stores_exactly_what_the_orm_batches_stored_and_reruns_change_nothing(ref):
    from kehu.customers.models import Customer

    ids = build_history(n=150)
    transactions = crm_transactions_frame()
    gone = Customer.objects.order_by("-pk").first().pk + 1000  # never existed
    frames = {
        cutoff: with_edge_cases(score_customers(transactions, cutoff, ScoreConfig(future="ignore")), gone)
        for cutoff in CUTOFFS
    }

    global LEGACY_BATCH
    LEGACY_BATCH = 40
    try:
        legacy_counts = run_all(frames, legacy_write_scores, legacy_raise_grade_warnings)
    finally:
        LEGACY_BATCH = 20_000
    before = stored()
    wipe()
    counts = run_all(frames, do_write_scores, do_raise_grade_warnings)
    after = stored()

    assert counts == legacy_counts
    assert after == before
    # The dataset is one where every part of the write-back has work to do.
    assert len(after["scores"]) == ids["buyers"]
    assert len(after["snapshots"]) == sum(n for n, _ in counts)
    assert counts[-1][1] > 0 and len(after["warnings"]) == sum(w for _, w in counts)
    assert any(w[2] == "TIER_DOWN" and w[4] == "service" for w in after["warnings"])
    by_customer = {row[0]: dict(zip(SCORE_FIELDS, row, strict=False)) for row in after["scores"]}
    first = frames[CUTOFFS[-1]]
    edge = {int(first.loc[i, "customer_id"]): i for i in range(10)}
    values = {i: by_customer[c] for c, i in edge.items()}
    assert values[0]["monetary"] == Decimal("2.67")
    assert values[1]["monetary"] == Decimal("0.12")
    assert values[2]["monetary"] == Decimal("0")
    assert values[3]["clv_365d"] is None and values[4]["clv_365d"] is None
    assert values[5]["clv_365d"] == Decimal(str(round(-1234.565, 2)))
    assert values[6]["p_alive"] is None
    assert values[7]["churn_reasons"] == ["recency_days=120 (+0.31)", "total_amount=80 (+0.05)", "客户=x (+0.02)"]
    assert values[8]["clv_365d"] == Decimal("999999999999.99")
    assert values[9]["expected_purchases_90d"] == 1 / 3
    assert by_customer[int(first.loc[12, "customer_id"])]["churn_reasons"] == []
    assert gone not in by_customer

    # Re-running the last run: same rows, no duplicates, same warnings.
    last = ScoringRun.objects.get(cutoff=CUTOFFS[-1])
    assert do_write_scores(last, frames[CUTOFFS[-1]]) == counts[-1][0]
    assert do_raise_grade_warnings(last) == counts[-1][1]
    assert stored() == after
    assert GradeSnapshot.objects.filter(run=last).count() == counts[-1][0]


@pytest.mark.django_db
def test_a_rerun_with_changed_scores_replaces_them(ref):
    build_history(n=60)
    scores = score_customers(crm_transactions_frame(), CUTOFFS[-1], ScoreConfig(future="ignore"))
    run = ScoringRun.objects.create(cutoff=CUTOFFS[-1])
    do_write_scores(run, scores)
    changed = scores.copy()
    changed["tier"] = "bronze"
    changed["churn_reasons"] = ""
    assert do_write_scores(run, changed.iloc[:10]) == 10
    # Customers not in the rerun keep their score; the run's snapshots are the rerun's only.
    assert CustomerScore.objects.count() == len(scores)
    assert CustomerScore.objects.filter(tier="bronze", churn_reasons=[]).count() >= 10
    assert GradeSnapshot.objects.filter(run=run).count() == 10
    assert set(GradeSnapshot.objects.filter(run=run).values_list("tier", flat=True)) == {"bronze"}


@pytest.mark.django_db
def test_an_empty_scoring_writes_nothing(ref):
    run = ScoringRun.objects.create(cutoff=CUTOFFS[0])
    empty = pd.DataFrame(
        {c: pd.Series([], dtype=float) for c in ["customer_id", "recency_days", "frequency", "monetary"]}
    ).assign(
        **{
            c: pd.Series([], dtype=object)
            for c in ["r_grade", "f_grade", "m_grade", "rfm_class", "tier", "lifecycle_stage", "churn_reasons"]
        },
        **{
            c: pd.Series([], dtype=float)
            for c in ["p_alive", "expected_purchases_90d", "expected_purchases_365d", "clv_365d", "churn_probability"]
        },
    )
    assert do_write_scores(run, empty) == 0
    assert not CustomerScore.objects.exists()
    assert do_raise_grade_warnings(run) == 0


@pytest.mark.django_db
def test_deleting_a_customer_deletes_its_snapshots(ref):
    from kehu.commerce.models import Order
    from kehu.customers.models import Customer

    build_history(n=30)
    transactions = crm_transactions_frame()
    for cutoff in CUTOFFS[-2:]:
        do_write_scores(ScoringRun.objects.create(cutoff=cutoff), score_customers(transactions, cutoff, ScoreConfig()))
    customer = Customer.objects.get(pk=GradeSnapshot.objects.values_list("customer_id", flat=True).first())
    assert GradeSnapshot.objects.filter(customer=customer).count() == 2
    others = GradeSnapshot.objects.exclude(customer=customer).count()
    Order.objects.filter(customer=customer).delete()  # orders protect their customer
    customer.delete()
    assert not GradeSnapshot.objects.filter(customer_id=customer.pk).exists()
    assert GradeSnapshot.objects.count() == others


def test_texts_computed_once_per_distinct_value_equal_the_per_row_texts():
    from kehu.scoring.writeback import _by_distinct, _reasons_text, _text

    grades = pd.Series(["A", None, "B", float("nan"), "A", pd.NA, "客户", "B"], dtype=object)
    codes, texts = _by_distinct(grades, _text, "")
    assert [texts[c] for c in codes] == ["A", "", "B", "", "A", "", "客户", "B"]
    assert texts == ["A", "B", "客户", ""]  # each distinct value once, then the missing text
    reasons = pd.Series(["a (+1); b (+2)", "", None, "a (+1); b (+2)", '引号"x (+1)'], dtype=object)
    codes, texts = _by_distinct(reasons, _reasons_text, "[]")
    assert [texts[c] for c in codes] == [
        '["a (+1)", "b (+2)"]',
        "[]",
        "[]",
        '["a (+1)", "b (+2)"]',
        '["\\u5f15\\u53f7\\"x (+1)"]',
    ]
    # Reasons already given as lists cannot be hashed: each row is converted on its own.
    listed = pd.Series([["x", "y"], [], None, ["x", "y"]], dtype=object)
    codes, texts = _by_distinct(listed, _reasons_text, "[]")
    assert [texts[c] for c in codes] == ['["x", "y"]', "[]", "[]", '["x", "y"]']


def test_vectorised_cents_equal_pythons_rounding():
    rng = np.random.default_rng(5)
    values = np.concatenate(
        [
            rng.gamma(2.0, 300.0, 200_000),
            -rng.gamma(2.0, 30.0, 20_000),
            np.round(rng.uniform(0, 10_000, 50_000), 3),  # many exact-looking half cents
            np.arange(0, 100, 0.005),
            rng.uniform(1e9, MAX_MONEY, 1000),
            [0.125, 0.375, 2.675, 1.005, -0.005, 0.0, -0.0, MAX_MONEY, 1e15, np.inf, -np.inf, np.nan],
        ]
    )
    cents, missing = money_cents(values)
    for v, c, m in zip(values.tolist(), cents.tolist(), missing.tolist(), strict=True):
        text = money_text(v)
        if text is None:
            assert m, v
        else:
            assert not m and Decimal(text) == Decimal(c) / 100, (v, c, text)


# --- PostgreSQL: the score table is rebuilt and swapped in -------------------------------------

postgres_only = pytest.mark.skipif(not settings.IS_POSTGRES, reason="the table swap is PostgreSQL's")


def _shape(table: str) -> dict[str, Any]:
    """What the migrations made of a table, by name: columns, constraints, indexes and grants."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, column_default, ordinal_position"
            " FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT grantee, privilege_type FROM information_schema.role_table_grants"
            " WHERE table_name = %s ORDER BY 1, 2",
            [table],
        )
        grants = cursor.fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes, "grants": grants}


def _table_oid(table: str) -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [table])
        return cursor.fetchone()[0]


def _holds_customer_lock() -> bool:
    """Whether this connection holds the customer table against writes (until its commit)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass"
            " AND mode = 'ShareRowExclusiveLock' AND granted",
            ["customers_customer"],
        )
        return bool(cursor.fetchone()[0])


def _last_scores(customers: int) -> pd.DataFrame:
    build_history(n=customers)
    return score_customers(crm_transactions_frame(), CUTOFFS[-1], ScoreConfig(future="ignore"))


@postgres_only
@pytest.mark.django_db
def test_the_swapped_in_score_table_is_the_same_table(ref):
    from django.db import IntegrityError, connection, transaction

    from kehu.customers.models import Customer

    table = CustomerScore._meta.db_table
    scores = _last_scores(60)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT ON {table} TO PUBLIC")
    before_oid = _table_oid(table)
    shape = _shape(table)
    assert len(shape["indexes"]) == 5 and any("FOREIGN KEY" in d for _, d in shape["constraints"])
    # A score written through the ORM earlier in the same transaction: its key check is still queued.
    keeper = Customer.objects.create(name="未评分")
    CustomerScore.objects.create(
        customer=keeper, run=ScoringRun.objects.create(cutoff=CUTOFFS[0]), scored_at=timezone.now(), tier="gold"
    )

    run = ScoringRun.objects.create(cutoff=CUTOFFS[-1])
    assert do_write_scores(run, scores) == len(scores)
    assert do_write_scores(run, scores.iloc[:5]) == 5  # a rerun of part: the others keep their scores
    # The snapshots' customer key is not checked by the database: no customer may be deleted
    # until the write-back commits (here: the test's transaction).
    assert _holds_customer_lock()

    assert _table_oid(table) != before_oid  # it really is a new table
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE %s", ["%_kehu_new"])
        assert cursor.fetchone()[0] == 0
    assert _shape(table) == shape
    assert CustomerScore.objects.count() == len(scores) + 1
    assert CustomerScore.objects.get(customer=keeper).tier == "gold"
    assert CustomerScore.objects.filter(run=run).count() == len(scores)
    # The customer key is still checked on the new table.
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerScore.objects.create(customer_id=keeper.pk + 10_000, run=run, scored_at=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@postgres_only
@pytest.mark.django_db
def test_a_table_others_depend_on_is_updated_in_place(ref):
    from django.db import connection

    from kehu.scoring.writeback import table_layout

    table = CustomerScore._meta.db_table
    scores = _last_scores(40)
    before_oid = _table_oid(table)
    with connection.cursor() as cursor:
        # A report's view over the scores would be dropped with the old table: no swap then.
        cursor.execute(f"CREATE VIEW kehu_test_gold AS SELECT customer_id FROM {table} WHERE tier = 'gold'")
        assert table_layout(cursor, table) is None
    run = ScoringRun.objects.create(cutoff=CUTOFFS[-1])
    ghost = scores.iloc[[0]].assign(customer_id=int(scores["customer_id"].max()) + 1000)  # deleted since
    assert not _holds_customer_lock()
    assert do_write_scores(run, pd.concat([scores, ghost], ignore_index=True)) == len(scores)
    assert _holds_customer_lock()
    assert _table_oid(table) == before_oid
    assert GradeSnapshot.objects.filter(run=run).count() == len(scores)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM kehu_test_gold")
        assert cursor.fetchone()[0] == CustomerScore.objects.filter(tier="gold").count()
    assert CustomerScore.objects.count() == len(scores)


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    "setup",
    [
        "ALTER TABLE {t} SET (autovacuum_vacuum_scale_factor = 0.01)",
        "CREATE STATISTICS kehu_test_stats ON tier, rfm_class FROM {t}",
        "CREATE PUBLICATION kehu_test_publication FOR TABLE {t}",
        "CREATE PUBLICATION kehu_test_publication FOR ALL TABLES",
    ],
    ids=["storage options", "extended statistics", "publication", "publication of all tables"],
)
def test_what_a_swap_would_lose_keeps_the_table_in_place(ref, setup):
    from django.db import connection

    from kehu.scoring.writeback import table_layout

    table = CustomerScore._meta.db_table
    with connection.cursor() as cursor:
        assert table_layout(cursor, table) is not None
        cursor.execute(setup.format(t=table))
        assert table_layout(cursor, table) is None


# --- grade snapshots partitioned by run (PostgreSQL) ----------------------------------------------

partitioned = pytest.mark.skipif(not settings.IS_POSTGRES, reason="the snapshots are partitioned on PostgreSQL only")


def _snapshot_partitions() -> dict[str, int]:
    """Rows per partition of the grade snapshots, every partition listed (empty ones too)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'scoring_gradesnapshot'::regclass"
        )
        counts = dict.fromkeys((row[0] for row in cursor.fetchall()), 0)
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM scoring_gradesnapshot GROUP BY 1")
        counts.update(dict(cursor.fetchall()))
    return counts


def _score(run: ScoringRun, transactions: pd.DataFrame) -> int:
    """Score the transactions at the run's cutoff and write them back; the number of snapshots written."""
    return do_write_scores(run, score_customers(transactions, run.cutoff, ScoreConfig(future="ignore")))


def _only(run: ScoringRun, written: int) -> dict[str, int]:
    """The partitions when the run's are the only snapshots: its own and an empty default."""
    return {"scoring_gradesnapshot_default": 0, f"scoring_gradesnapshot_run_{run.pk}": written}


def _indexes(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
        return [row[0].split(" USING ", 1)[1] for row in cursor.fetchall()]


@partitioned
@pytest.mark.django_db
def test_each_run_writes_its_snapshots_into_a_partition_of_its_own(ref):
    from django.db import IntegrityError, transaction

    build_history(n=60)
    transactions = crm_transactions_frame()
    runs, written = [], []
    for cutoff in CUTOFFS[-2:]:
        run = ScoringRun.objects.create(cutoff=cutoff)
        written.append(_score(run, transactions))
        runs.append(run)
    parts = {f"scoring_gradesnapshot_run_{r.pk}": n for r, n in zip(runs, written, strict=True)}
    assert all(written)
    assert _snapshot_partitions() == {"scoring_gradesnapshot_default": 0, **parts}
    # Each partition got the partitioned table's keys and index, once (ATTACH adopted them).
    assert _indexes(f"scoring_gradesnapshot_run_{runs[0].pk}") == [
        "btree (customer_id, cutoff DESC)",
        "btree (id, run_id)",
        "btree (run_id, customer_id)",
    ]
    # The keys hold across the partitions' share of them: one snapshot per customer and run.
    first = GradeSnapshot.objects.filter(run=runs[1]).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        GradeSnapshot.objects.create(run=runs[1], customer_id=first.customer_id, cutoff=first.cutoff)
    # A customer's history reads across the partitions, newest first.
    history = list(GradeSnapshot.objects.filter(customer_id=first.customer_id).values_list("run_id", flat=True))
    assert history == [runs[1].pk, runs[0].pk]

    # Re-running a run replaces its partition: the same rows, no second copy.
    again = _score(runs[0], transactions)
    assert again == written[0]
    assert _snapshot_partitions() == {"scoring_gradesnapshot_default": 0, **parts}


@partitioned
@pytest.mark.django_db
def test_rows_of_a_run_without_a_partition_are_kept_and_replaced_by_its_scoring(ref):
    build_history(n=40)
    transactions = crm_transactions_frame()
    run = ScoringRun.objects.create(cutoff=CUTOFFS[-1])
    customer_id = int(transactions["customer_id"].iloc[0])
    # Written outside a scoring run (an unmerge putting a row back, a fixture): the default partition.
    GradeSnapshot.objects.create(run=run, customer_id=customer_id, cutoff=CUTOFFS[-1], tier="gold")
    assert _snapshot_partitions() == {"scoring_gradesnapshot_default": 1}
    assert GradeSnapshot.objects.get(run=run).tier == "gold"
    written = _score(run, transactions)
    assert _snapshot_partitions() == _only(run, written)
    assert GradeSnapshot.objects.filter(run=run, customer_id=customer_id).count() == 1


@partitioned
@pytest.mark.django_db
def test_a_deleted_runs_partition_is_dropped_by_the_next_run(ref):
    build_history(n=40)
    transactions = crm_transactions_frame()
    old = ScoringRun.objects.create(cutoff=CUTOFFS[-2])
    _score(old, transactions)
    old_pk = old.pk
    old.delete()  # the ORM's cascade empties the partition
    assert _snapshot_partitions()[f"scoring_gradesnapshot_run_{old_pk}"] == 0
    new = ScoringRun.objects.create(cutoff=CUTOFFS[-1])
    written = _score(new, transactions)
    assert _snapshot_partitions() == _only(new, written)
