from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.scoring.actions import do_run_scoring
from kehu.scoring.models import CustomerScore, RunStatus, ScoringRun
from tests.scoring.test_scoring import build_history

pytestmark = pytest.mark.django_db

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]
MAY_RUN = {"admin", "marketing", "analyst"}


def login(client, user):
    client.force_login(user)


@pytest.fixture
def scored(ref):
    ids = build_history(n=150)
    run = do_run_scoring(ScoringRun.objects.create(cutoff=dt.date(2025, 12, 31)), engine="duckdb")
    assert run.status == RunStatus.SUCCEEDED, run.message
    return ids


@pytest.mark.parametrize("role", ROLES)
def test_it_shows_the_analytics_page_to_every_role(client, users, scored, role):
    login(client, users[role])
    response = client.get("/analytics/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "RFM" in body
    assert ("Score customers now" in body) == (role in MAY_RUN)


def test_it_shows_counts_that_add_up_to_the_scored_customers(client, users, scored):
    login(client, users["admin"])
    data = client.get("/analytics/").context["data"]
    total = CustomerScore.objects.count()
    assert data.scored == total
    assert sum(cell["n"] for row in data.rf_grid for cell in row) == total
    assert sum(cell["n"] for grid in data.class_grid.values() for row in grid for cell in row) == total
    assert (
        sum(bucket["n"] for bucket in data.clv_histogram)
        == CustomerScore.objects.filter(clv_365d__isnull=False).count()
    )
    assert max(cell["heat"] for row in data.rf_grid for cell in row) == 1.0


def test_it_limits_a_store_manager_to_their_customers(client, users, scored):
    login(client, users["store_manager"])
    data = client.get("/analytics/").context["data"]
    assert data.scored == 0  # none of the scored customers belongs to the Shanghai store


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_some_roles_start_a_run(client, users, ref, role):
    login(client, users[role])
    response = client.post("/analytics/run")
    if role in MAY_RUN:
        assert response.status_code == 302
        assert ScoringRun.objects.filter(status=RunStatus.QUEUED).count() == 1
    else:
        assert response.status_code == 403
        assert not ScoringRun.objects.exists()


def test_it_reports_progress_and_refreshes_when_done(client, users, scored):
    login(client, users["analyst"])
    run = ScoringRun.objects.get()
    response = client.get(f"/analytics/runs/{run.pk}/progress")
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert client.get("/analytics/runs/999999/progress").status_code == 404


def test_it_shows_an_empty_page_before_the_first_run(client, users, ref):
    login(client, users["marketing"])
    response = client.get("/analytics/")
    assert response.status_code == 200
    assert "No scores yet" in response.content.decode()


def test_it_asks_anonymous_visitors_to_log_in(client, ref):
    for url in ("/analytics/", "/analytics/warnings/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    assert client.post("/analytics/run").status_code == 302
    assert not ScoringRun.objects.exists()


def test_it_drills_from_a_grid_cell_into_the_customer_list(client, users, scored):
    login(client, users["admin"])
    cell = CustomerScore.objects.values_list("r_grade", "f_grade").first()
    expected = CustomerScore.objects.filter(r_grade=cell[0], f_grade=cell[1]).count()
    response = client.get(f"/customers/?r_grade={cell[0]}&f_grade={cell[1]}")
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(expected, 50)


def test_it_shows_the_customers_tier_risk_and_grade_history_on_the_360_page(client, users, scored):
    login(client, users["service"])
    fader = CustomerScore.objects.get(customer_id=scored["fader"])
    body = client.get(f"/customers/{fader.customer_id}/").content.decode()
    assert 'data-testid="customer-tier"' in body
    assert fader.get_tier_display() in body
    assert f"RFM {fader.rfm_class}" in body


def test_it_says_a_prospect_has_nothing_to_score(client, users, ref):
    from tests.factories import make_customer

    login(client, users["service"])
    prospect = make_customer("只看不买")
    body = client.get(f"/customers/{prospect.pk}/").content.decode()
    assert "A prospect: no purchase yet" in body


@pytest.mark.parametrize(
    ("language", "label", "path"), [("zh-hans", "等级下降", "金质 → 银质"), ("en", "Tier fell", "Gold → Silver")]
)
def test_a_warning_shows_its_grade_path_in_the_users_language(client, users, ref, language, label, path):
    from kehu.customers.models import Customer
    from kehu.scoring.models import GradeWarning

    customer = Customer.objects.create(name="顾客甲")
    run = ScoringRun.objects.create(cutoff=dt.date(2025, 12, 31), status=RunStatus.SUCCEEDED)
    english = "tier fell in the latest run (gold > silver > bronze)"
    GradeWarning.objects.create(
        customer=customer, run=run, code="TIER_DOWN", reason=f"{english}: gold→silver", team="service"
    )
    # The 360 page shows warnings on the customer's score card.
    CustomerScore.objects.create(customer=customer, run=run, tier="silver", scored_at=timezone.now())
    login(client, users["admin"])
    for url in ("/analytics/warnings/", f"/customers/{customer.pk}/"):
        body = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert label in body and path in body
        # The engine's English description is kept only as the cell's title on the list, never as text.
        assert f">{english}" not in body and f"— {english}" not in body
