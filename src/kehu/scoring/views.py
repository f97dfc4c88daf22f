"""The analytics area: RFM grids, tiers, lifecycle, CLV, cohorts, churn risk, affinity and the
early-warning queue, plus starting a scoring run and watching its progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kehu.accounts import policy
from kehu.scoring import queries
from kehu.scoring.actions import do_request_scoring
from kehu.scoring.models import RunStatus
from kehu.scoring.templatetags.scoring_ui import STAGE_LABELS, TIER_LABELS

TEAMS = ("marketing", "service")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    data = queries.analytics_dashboard(request.user)
    pending = queries.latest_run()
    charts = {
        "tiers": [[t["tier"], t["n"]] for t in data.tiers],
        "stages": [[s["stage"], s["n"]] for s in data.stages],
        "clv": [[b["label"], b["n"]] for b in data.clv_histogram],
        "cohorts": data.insights.get("cohorts", {}),
        "labels": {
            "customers": _("Customers"),
            "retention": _("Retention"),
            "months_since": _("Months since first purchase"),
            "stages": {k: str(v) for k, v in STAGE_LABELS.items()},
            "tiers": {k: str(v) for k, v in TIER_LABELS.items()},
        },
    }
    return render(
        request,
        "scoring/dashboard.html",
        {
            "nav_section": "analytics",
            "data": data,
            "charts": charts,
            "pending": pending if pending and pending.status in (RunStatus.QUEUED, RunStatus.RUNNING) else None,
            "can_run": policy.can(request.user, policy.RUN_SCORING),
        },
    )


@login_required
@require_POST
def run_scoring(request: HttpRequest) -> HttpResponse:
    policy.check(request.user, policy.RUN_SCORING)
    do_request_scoring(request.user)
    return redirect("analytics")


@login_required
@require_GET
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    policy.check(request.user, policy.VIEW_CUSTOMERS)
    run = queries.access_run(run_id)
    if run is None:
        raise Http404
    response = render(request, "scoring/_progress.html", {"run": run})
    if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def warnings(request: HttpRequest) -> HttpResponse:
    team = request.GET.get("team") or None
    if team not in (None, *TEAMS):
        team = None
    rows = list(queries.open_warnings(request.user, team=team, code=request.GET.get("code") or None)[:200])
    return render(
        request,
        "scoring/warnings.html",
        {"nav_section": "analytics", "rows": rows, "team": team, "teams": TEAMS},
    )
