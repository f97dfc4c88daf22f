"""Order pages: one order with its lines, shipments with tracking events, and returns."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kehu.commerce.queries import access_order


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = access_order(request.user, order_id)  # type: ignore[arg-type]
    prefetch_related_objects([order], "lines__product__category", "shipments__events", "returns")
    return render(request, "commerce/order_detail.html", {"order": order, "nav_section": "customers"})
