"""Order pages: one order with its lines, shipments with tracking events, and returns."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kehu.accounts import policy
from kehu.commerce.forms import OrderFilterForm
from kehu.commerce.queries import access_order, list_orders

MAX_CURSOR_LENGTH = 200


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """Every order the user may see, newest first, with filters and keyset pagination."""
    user = request.user
    policy.check(user, policy.VIEW_ORDERS)  # type: ignore[arg-type]
    form = OrderFilterForm(user, request.GET or None)  # type: ignore[arg-type]
    cursor = request.GET.get("cursor", "")[:MAX_CURSOR_LENGTH] or None
    page = list_orders(user, form.as_filters(), cursor=cursor)  # type: ignore[arg-type]
    context = {
        "filter_form": form,
        "orders": page.orders,
        "next_cursor": page.next_cursor,
        "is_later_page": cursor is not None,
        "nav_section": "orders",
    }
    return render(request, "commerce/order_list.html", context)


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = access_order(request.user, order_id)  # type: ignore[arg-type]
    prefetch_related_objects([order], "lines__product__category", "shipments__events", "returns")
    from kehu.customfields.forms import custom_field_rows

    # Orders have no reveal: personal custom values stay masked here.
    from kehu.customfields.queries import active_fields

    definitions = active_fields("order")
    custom_rows = [
        *custom_field_rows(order, personal=False, unmasked=False, entity="order", definitions=definitions),
        *custom_field_rows(order, personal=True, unmasked=False, entity="order", definitions=definitions),
    ]
    context = {"order": order, "nav_section": "orders", "custom_rows": custom_rows}
    return render(request, "commerce/order_detail.html", context)
