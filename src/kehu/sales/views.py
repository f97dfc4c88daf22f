"""The grid-entry pages: store sales per product model and month, and salespersons' targets.
Pages render the grid's configuration; saves are one JSON POST of the changed cells."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from kehu.accounts import policy
from kehu.sales import queries
from kehu.sales.actions import GridError, SaveResult, check_save_store_sales, check_save_targets


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _grid_labels() -> dict[str, Any]:
    """Words the grid script shows, translated here so the script stays language-free."""
    return {
        "total": _("Sum"),
        "quantity": _("Qty"),
        "amount": _("Amount"),
        "unsaved": _("%(n)s unsaved"),
        "invalid": _("%(n)s to fix"),
        "saved": _("Saved %(n)s cells in %(s)s s."),
        "nothing": _("No changes to save."),
        "fix_first": _("Fix the cells marked red before saving."),
        "failed": _("Saving failed; your changes are still in the grid. Try again."),
        "saving": _("Saving…"),
        "leave": _("You have unsaved changes."),
        "pasted": _("Pasted %(rows)s rows × %(cols)s columns."),
        "clipped": _("%(n)s pasted rows did not fit below the grid and were left out."),
        "messages": {
            "number": _("Enter a number."),
            "whole": _("Enter a whole number of units."),
            "negative": _("Must not be negative."),
            "places": _("At most 2 decimal places."),
            "too_large": _("Too large."),
        },
    }


def _with_extra(row: dict[str, Any], key: str) -> dict[str, Any]:
    """The grid's third, read-only column (region of a store, role of a salesperson)."""
    extra = {k: v for k, v in row.items() if k != key}
    extra["extra"] = row[key]
    return extra


def _money_series(rows: list[tuple[str, Any]]) -> list[list[Any]]:
    return [[label, str(value)] for label, value in rows]


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    policy.check(request.user, policy.ENTER_SALES)
    return redirect("sales-store-sales")


@login_required
@require_GET
def store_sales(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.check(user, policy.ENTER_SALES)
    month = queries.parse_month(request.GET.get("month")) or queries.this_month()
    measure = request.GET.get("measure") if request.GET.get("measure") in queries.MEASURES else "amount"
    category_id = _int(request.GET.get("category"))
    picked = [pk for pk in (_int(v) for v in request.GET.getlist("products")) if pk]
    products, more = queries.grid_products(category_id, picked)
    fields = ["quantity", "amount"] if measure == "both" else [measure]
    rows = queries.store_sales_grid(user, month, products)
    summary = queries.month_summary(user, month)
    grid = {
        "sheet": "store_sales",
        "saveUrl": reverse("sales-store-sales-save"),
        "params": {"month": month.strftime("%Y-%m")},
        "rowHeader": {"code": _("Store code"), "name": _("Store"), "extra": _("Region")},
        "columns": [
            {
                "id": p.pk,
                "title": p.name,
                "subtitle": p.sku,
                "fields": fields,
            }
            for p in products
        ],
        "rows": [_with_extra(row, "region") for row in rows],
        "labels": _grid_labels(),
    }
    chart = {
        "byStore": [[name, str(sales), str(target)] for name, sales, target in summary.by_store],
        "byCategory": _money_series(summary.by_category),
        "labels": {
            "sales": _("Sales"),
            "target": _("Target"),
            "empty": _("No figures entered for this month yet."),
        },
    }
    return render(
        request,
        "sales/store_sales.html",
        {
            "nav_section": "sales",
            "month": month,
            "measure": measure,
            "category_id": category_id,
            "picked": {p.pk for p in products} if picked else set(),
            "categories": queries.categories(),
            "all_products": queries.grid_products(category_id, [])[0] if not picked else products,
            "products": products,
            "more_products": more,
            "max_products": queries.MAX_PRODUCTS,
            "summary": summary,
            "grid": grid,
            "chart": chart,
            "store_count": len(rows),
        },
    )


@login_required
@require_GET
def targets(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.check(user, policy.ENTER_SALES)
    year = _int(request.GET.get("year")) or timezone.localdate().year
    if not 2000 <= year <= 2100:
        year = timezone.localdate().year
    rows = queries.targets_grid(user, year)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    grid = {
        "sheet": "targets",
        "saveUrl": reverse("sales-targets-save"),
        "params": {"year": year},
        "rowHeader": {"code": _("Username"), "name": _("Salesperson"), "extra": _("Role")},
        "columns": [{"id": m, "title": months[m - 1], "subtitle": "", "fields": ["target"]} for m in range(1, 13)],
        "rows": [_with_extra(row, "role") for row in rows],
        "labels": _grid_labels(),
    }
    series = queries.year_vs_targets(user, year)
    chart = {
        "months": [m for m, _s, _t in series],
        "sales": [str(s) for _m, s, _t in series],
        "targets": [str(t) for _m, _s, t in series],
        "labels": {
            "sales": _("Entered store sales"),
            "target": _("Targets"),
            "empty": _("No sales or targets entered for this year yet."),
        },
    }
    return render(
        request,
        "sales/targets.html",
        {"nav_section": "sales", "year": year, "grid": grid, "chart": chart, "people_count": len(rows)},
    )


def _saved_response(result: SaveResult, started: float) -> JsonResponse:
    if not result.ok:
        return JsonResponse(
            {
                "ok": False,
                "message": ngettext(
                    "Nothing was saved: %(n)s cell needs attention.",
                    "Nothing was saved: %(n)s cells need attention.",
                    len(result.errors),
                )
                % {"n": len(result.errors)},
                "errors": [e.as_dict() for e in result.errors],
            },
            status=400,
        )
    return JsonResponse(
        {
            "ok": True,
            "changed": result.changed,
            "unchanged": result.unchanged,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


def _posted(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise GridError(_("The request is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise GridError(_("The request is not valid JSON."))
    return body


def _refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "message": message, "errors": []}, status=status)


@login_required
@require_POST
def save_store_sales(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    try:
        policy.check(request.user, policy.ENTER_SALES)
        body = _posted(request)
        month = queries.parse_month(str(body.get("month", "")))
        if month is None:
            raise GridError(_("Choose a month."))
        result = check_save_store_sales(request.user, month, body.get("cells"), request=request)
    except PermissionDenied:
        return _refused(_("You may not enter figures for some of these rows; nothing was saved."), 403)
    except GridError as error:
        return _refused(str(error), 400)
    return _saved_response(result, started)


@login_required
@require_POST
def save_targets(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    try:
        policy.check(request.user, policy.ENTER_SALES)
        body = _posted(request)
        year = body.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise GridError(_("Choose a year."))
        result = check_save_targets(request.user, year, body.get("cells"), request=request)
    except PermissionDenied:
        return _refused(_("You may not set targets for some of these people; nothing was saved."), 403)
    except GridError as error:
        return _refused(str(error), 400)
    return _saved_response(result, started)
