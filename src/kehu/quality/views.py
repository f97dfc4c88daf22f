"""The data-quality page: problem counts per check, drill-down lists, and bulk fixes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from kehu.accounts import policy
from kehu.quality import queries
from kehu.quality.actions import check_count as count_of
from kehu.quality.actions import check_start_fix, forget_counts
from kehu.quality.checks import get_check
from kehu.quality.models import FixStatus


@login_required
@require_GET
def quality_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.check(user, policy.VIEW_CUSTOMERS)  # type: ignore[arg-type]
    return render(
        request,
        "quality/page.html",
        {
            "nav_section": "quality",
            "categories": queries.checks_by_category(),
            "refresh": request.GET.get("refresh") == "1",
            "review_url": queries.review_queue_url(),
            "can_fix": policy.can(user, policy.EDIT_CUSTOMERS),  # type: ignore[arg-type]
            "fixes": queries.recent_fixes(user) if policy.can(user, policy.EDIT_CUSTOMERS) else [],  # type: ignore[arg-type]
        },
    )


@login_required
@require_GET
def check_count(request: HttpRequest, check_key: str) -> HttpResponse:
    """One check's count, loaded by the page with HTMX so slow checks never hold up the page."""
    check = get_check(check_key)
    row = count_of(request.user, check, refresh=request.GET.get("refresh") == "1")  # type: ignore[arg-type]
    return render(request, "quality/_count.html", {"check": check, "row": row})


@login_required
@require_GET
def check_detail(request: HttpRequest, check_key: str) -> HttpResponse:
    user = request.user
    policy.check(user, policy.VIEW_CUSTOMERS)  # type: ignore[arg-type]
    check = get_check(check_key)
    rows = queries.drill_down(user, check)  # type: ignore[arg-type]
    kept = count_of(user, check)  # type: ignore[arg-type]
    return render(
        request,
        "quality/check.html",
        {
            "nav_section": "quality",
            "check": check,
            # A heavy check still being counted in the background shows at least what is listed.
            "count": kept.count if kept.count is not None else len(rows),
            "rows": rows,
            "limit": queries.DRILL_LIMIT,
            "review_url": queries.review_queue_url() if check.category == "duplicate" else None,
            "can_fix": policy.can(user, policy.EDIT_CUSTOMERS),  # type: ignore[arg-type]
        },
    )


@login_required
@require_POST
def start_fix(request: HttpRequest, check_key: str) -> HttpResponse:
    user = request.user
    try:
        run = check_start_fix(user, check_key)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("quality:check", check_key=check_key)
    forget_counts(user)  # type: ignore[arg-type]
    if run.status == FixStatus.SUCCEEDED:
        left = max(run.candidates - run.changed, 0)
        text = ngettext("Fixed %(n)d record.", "Fixed %(n)d records.", run.changed) % {"n": run.changed}
        if left:
            text += " " + ngettext(
                "%(left)d record needs manual correction.", "%(left)d records need manual correction.", left
            ) % {"left": left}
        messages.success(request, text)
        return redirect("quality:check", check_key=check_key)
    if run.status == FixStatus.FAILED:
        messages.error(request, run.message)
        return redirect("quality:check", check_key=check_key)
    return redirect("quality:run", run_id=run.pk)


@login_required
@require_GET
def fix_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = queries.access_fix_run(request.user, run_id)  # type: ignore[arg-type]
    template = "quality/_run_card.html" if request.headers.get("HX-Request") == "true" else "quality/run.html"
    return render(request, template, {"nav_section": "quality", "run": run, "check": get_check(run.check_key)})
