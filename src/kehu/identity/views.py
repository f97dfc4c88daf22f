"""Pages of identity resolution: the review queue (bulk dismiss, start a scan and watch it),
the compare-and-merge page, and undoing a merge. Thin: parse, check, call one action, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from kehu.accounts import policy
from kehu.identity import queries
from kehu.identity.actions import access_pair, check_dismiss, check_merge, check_unmerge, do_request_scan
from kehu.identity.merging import MergeRefused
from kehu.identity.models import DuplicateScan, ScanStatus
from kehu.identity.presenters import customer_summary, reasons_display
from kehu.identity.survivorship import FIELD_RULES, default_survivor_first

if TYPE_CHECKING:
    from kehu.accounts.models import User


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _check_reviewer(user: User) -> None:
    if not queries.may_review(user):
        raise PermissionDenied


@login_required
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _check_reviewer(user)
    cursor = request.GET.get("cursor", "")[:40] or None
    page = queries.review_queue(user, cursor)
    scan = queries.latest_scan()
    rows = [
        {
            "suggestion": s,
            "reasons": reasons_display(s.reasons),
            "a": customer_summary(s.customer_a),
            "b": customer_summary(s.customer_b),
        }
        for s in page.suggestions
    ]
    return render(
        request,
        "identity/review.html",
        {
            "nav_section": "customers",
            "rows": rows,
            "total": page.total,
            "next_cursor": page.next_cursor,
            "is_later_page": cursor is not None,
            "scan": scan,
            "scan_active": scan is not None and scan.status in (ScanStatus.QUEUED, ScanStatus.RUNNING),
        },
    )


@login_required
@require_POST
def dismiss(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _check_reviewer(user)
    ids = [v for v in request.POST.getlist("suggestion") if v.isdigit()][:500]
    if not ids:
        messages.error(request, _("Select at least one suggestion."))
        return redirect("identity:review")
    n = check_dismiss(user, [int(v) for v in ids])
    messages.success(request, ngettext("%(n)d suggestion dismissed.", "%(n)d suggestions dismissed.", n) % {"n": n})
    return redirect("identity:review")


@login_required
@require_POST
def start_scan(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _check_reviewer(user)
    do_request_scan(user)
    messages.info(request, _("Looking for duplicates in the background; this page shows the progress."))
    return redirect("identity:review")


@login_required
@require_GET
def scan_progress(request: HttpRequest, scan_id: int) -> HttpResponse:
    _check_reviewer(_user(request))
    scan = DuplicateScan.objects.filter(pk=scan_id).first()
    if scan is None:
        raise Http404
    response = render(request, "identity/_scan_progress.html", {"scan": scan})
    if scan.status in (ScanStatus.SUCCEEDED, ScanStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response


def _compare_context(request: HttpRequest, survivor: Any, absorbed: Any, suggestion: Any = None) -> dict[str, Any]:
    prefetch_related_objects([survivor, absorbed], "identities", "addresses")
    fields = queries.compare_fields(survivor, absorbed)
    return {
        "nav_section": "customers",
        "survivor": customer_summary(survivor),
        "absorbed": customer_summary(absorbed),
        "survivor_obj": survivor,
        "absorbed_obj": absorbed,
        "fields": fields,
        "suggestion": suggestion,
        "reasons": reasons_display(suggestion.reasons) if suggestion else [],
    }


@login_required
@require_GET
def compare(request: HttpRequest, first_id: int, second_id: int) -> HttpResponse:
    """Both records side by side; `?survivor=<id>` picks which one survives (default: the
    earlier created), and each differing field shows the default choice."""
    user = _user(request)
    _check_reviewer(user)
    try:
        first, second = access_pair(user, first_id, second_id)
    except (ValidationError, MergeRefused) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("identity:review")
    survivor, absorbed = default_survivor_first(first, second)
    wanted = request.GET.get("survivor", "")
    if wanted.isdigit() and int(wanted) in (first.pk, second.pk):
        survivor, absorbed = (first, second) if int(wanted) == first.pk else (second, first)
    suggestion = None
    suggestion_id = request.GET.get("suggestion", "")
    if suggestion_id.isdigit():
        suggestion = queries.visible_suggestions(user).filter(pk=int(suggestion_id)).first()
    return render(request, "identity/compare.html", _compare_context(request, survivor, absorbed, suggestion))


@login_required
@require_POST
def merge(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    policy.check(user, policy.MERGE_CUSTOMERS)
    try:
        survivor_id = int(request.POST.get("survivor", ""))
        absorbed_id = int(request.POST.get("absorbed", ""))
    except ValueError:
        messages.error(request, _("Choose the two customers to merge."))
        return redirect("identity:review")
    suggestion = request.POST.get("suggestion", "")
    fields = {f: request.POST[f"field_{f}"] for f in FIELD_RULES if f"field_{f}" in request.POST}
    try:
        record = check_merge(
            user, survivor_id, absorbed_id, fields, suggestion_id=int(suggestion) if suggestion.isdigit() else None
        )
    except (ValidationError, MergeRefused) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        low, high = sorted((survivor_id, absorbed_id))
        if low == high:
            return redirect("identity:review")
        return redirect("identity:compare", first_id=low, second_id=high)
    messages.success(
        request,
        _("%(absorbed)s (#%(id)s) was merged into this record. You can undo it below.")
        % {"absorbed": record.absorbed_name, "id": record.absorbed_id},
    )
    return redirect("customer-detail", customer_id=record.survivor_id)


@login_required
@require_POST
def unmerge(request: HttpRequest, merge_id: int) -> HttpResponse:
    user = _user(request)
    try:
        absorbed = check_unmerge(user, merge_id)
    except MergeRefused as exc:
        messages.error(request, str(exc))
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)
        return redirect("identity:review")
    messages.success(request, _("The merge was undone: %(name)s is a separate record again.") % {"name": absorbed.name})
    return redirect("customer-detail", customer_id=absorbed.pk)
