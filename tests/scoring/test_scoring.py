from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from kehu.scoring.actions import do_run_scoring
from kehu.scoring.models import CustomerScore, GradeSnapshot, GradeWarning, RunStatus, ScoringRun
from kehu.scoring.source import database_engine_available
from tests.factories import make_customer

TZ = timezone.get_current_timezone()


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=TZ)


def build_history(n: int = 300, seed: int = 3) -> dict[str, int]:
    """A buy-till-you-die population over 2025 (bulk-inserted: the analytics only read orders),
    plus 'fader', who bought every nine days until March and then stopped."""
    from kehu.commerce.models import Channel, Order
    from kehu.customers.actions import do_refresh_purchase_stats
    from kehu.customers.models import Customer

    rng = np.random.default_rng(seed)
    web = Channel.objects.get(code="web")
    customers = Customer.objects.bulk_create([Customer(name=f"顾客{i}") for i in range(n)])
    start = dt.date(2025, 1, 1)
    orders = []
    for c in customers:
        rate = rng.gamma(0.9, 1 / 25)  # purchases per day
        drop = rng.beta(1.2, 4)
        day = float(rng.integers(0, 120))
        while day < 364:
            orders.append((c.pk, start + dt.timedelta(days=int(day)), rng.gamma(3, 80)))
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
    fader = make_customer("流失风险", phone="13900139000")
    orders += [(fader.pk, start + dt.timedelta(days=9 * k), 800.0) for k in range(10)]
    Order.objects.bulk_create(
        [
            Order(
                source_system="t",
                source_id=str(i),
                number=str(i),
                customer_id=cid,
                channel=web,
                ordered_at=at(day),
                total_amount=round(amount, 2),
                paid_amount=round(amount, 2),
            )
            for i, (cid, day, amount) in enumerate(orders)
        ]
    )
    do_refresh_purchase_stats()
    return {"fader": fader.pk, "buyers": len({o[0] for o in orders})}


CUTOFFS = (dt.date(2025, 4, 1), dt.date(2025, 7, 1), dt.date(2025, 12, 31))


def score(cutoff: dt.date, engine: str = "duckdb") -> ScoringRun:
    # The database engine reads through its own connection, which sees only committed rows,
    # so tests inside a transaction score through DuckDB; the equality test below commits.
    return do_run_scoring(ScoringRun.objects.create(cutoff=cutoff), engine=engine)


@pytest.mark.django_db
def test_it_scores_every_buyer_and_keeps_grade_history(ref):
    ids = build_history()
    run = score(dt.date(2025, 12, 31))
    assert run.status == RunStatus.SUCCEEDED, run.message
    assert run.customers_scored == ids["buyers"]
    assert CustomerScore.objects.count() == ids["buyers"]
    fader = CustomerScore.objects.get(customer_id=ids["fader"])
    assert fader.frequency == 10
    assert fader.r_grade in {"A", "B", "C"}
    assert fader.tier in {"gold", "silver", "bronze"}
    assert fader.p_alive is not None and 0 <= fader.p_alive <= 1, run.message
    assert fader.clv_365d is not None and fader.churn_probability is not None
    insights = run.insights
    assert insights["forecast"]["purchases_90d"] > 0
    assert insights["forecast"]["revenue_365d"] > insights["forecast"]["revenue_90d"] > 0
    assert insights["cohorts"]["months"][0] == 0
    assert all(row[0] == 1.0 for row in insights["cohorts"]["values"])
    assert GradeSnapshot.objects.filter(run=run).count() == ids["buyers"]
    # Running the same run again replaces rather than duplicates.
    ScoringRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    run.refresh_from_db()
    do_run_scoring(run)
    assert GradeSnapshot.objects.filter(run=run).count() == ids["buyers"]


@pytest.mark.django_db
def test_it_warns_when_a_frequent_buyer_stops(ref):
    ids = build_history()
    for cutoff in CUTOFFS:
        run = score(cutoff)
        assert run.status == RunStatus.SUCCEEDED, run.message
    history = list(
        GradeSnapshot.objects.filter(customer_id=ids["fader"])
        .order_by("cutoff")
        .values_list("r_grade", "f_grade", "m_grade", "tier")
    )
    assert len(history) == 3
    warnings = GradeWarning.objects.filter(customer_id=ids["fader"], run=run)
    assert warnings.exists(), history
    assert history == [("A", "A", "A", "gold"), ("B", "A", "A", "gold"), ("C", "A", "A", "bronze")]
    assert sorted(warnings.values_list("code", "team")) == [("R_SLIDE", "marketing"), ("TIER_DOWN", "service")]
    assert "A→B→C" in warnings.get(code="R_SLIDE").reason


@pytest.mark.django_db
def test_it_fails_a_run_cleanly_when_nobody_has_bought(ref):
    make_customer("只注册")
    run = score(dt.date(2025, 6, 30))
    assert run.status == RunStatus.FAILED
    assert run.message == "No purchases on or before 2025-06-30: nothing to score."
    assert not CustomerScore.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_same_scores_in_the_database_and_in_duckdb(ref):
    if not database_engine_available():
        pytest.skip("the in-memory SQLite test database cannot be opened by a second connection")
    build_history()
    cutoff = dt.date(2025, 9, 30)
    fields = [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "r_grade",
        "f_grade",
        "m_grade",
        "tier",
        "lifecycle_stage",
    ]
    score(cutoff, engine="database")
    in_database = list(CustomerScore.objects.order_by("customer_id").values_list(*fields))
    score(cutoff, engine="duckdb")
    assert list(CustomerScore.objects.order_by("customer_id").values_list(*fields)) == in_database


@pytest.mark.django_db(transaction=True)
def test_it_queues_one_run_per_cutoff_and_runs_it_on_a_worker(ref):
    from django_tasks_db.models import DBTaskResult

    from kehu.scoring.actions import do_request_scoring

    build_history(n=120)
    first = do_request_scoring(None, dt.date(2025, 12, 31))
    again = do_request_scoring(None, dt.date(2025, 12, 31))
    assert again.pk == first.pk
    assert DBTaskResult.objects.count() == 1
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--interval", "0")
    first.refresh_from_db()
    assert first.status == RunStatus.SUCCEEDED, first.message
    assert CustomerScore.objects.count() == first.customers_scored > 0


def test_it_lists_the_periodic_jobs(capsys):
    from django.core.management import call_command

    call_command("scheduler", "--list")
    out = capsys.readouterr().out
    assert "scoring      0 2 1 1,4,7,10 *" in out
    assert "reconcile" in out


def test_it_stores_an_absurd_model_estimate_as_unknown():
    from kehu.scoring.actions import _money

    assert _money(1e15) is None
    assert _money(float("inf")) is None
    assert _money(float("nan")) is None
    assert str(_money(1234.567)) == "1234.57"
