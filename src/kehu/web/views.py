"""Pages shared by the whole product: the home dashboard and the global customer search."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kehu.accounts import policy
from kehu.commerce.queries import company_headlines
from kehu.customers.presenters import customer_row
from kehu.customers.queries import SearchHit, search_customers
from kehu.customers.search import MIN_NAME_QUERY
from kehu.customers.views import customer_page

if TYPE_CHECKING:
    from kehu.accounts.models import User

# A search that matched one of these exactly answers with that customer's 360 page.
EXACT_MATCHES = frozenset({"phone", "email", "member_card", "pos_id", "wechat_openid", "wechat_unionid", "order"})
MAX_QUERY_LENGTH = 100


def _channel_names_in_language(names: list[str]) -> dict[str, str]:
    """Map channel names (Chinese) to their English names when the page is in English."""
    if not (get_language() or "").startswith("en") or not names:
        return {}
    from kehu.commerce.models import Channel

    return {name: en for name, en in Channel.objects.filter(name__in=names).values_list("name", "name_en") if en}


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    headlines = company_headlines(user)
    english = _channel_names_in_language([name for name, _n in headlines.orders_by_channel])
    return render(
        request,
        "web/home.html",
        {
            "nav_section": "home",
            "headlines": headlines,
            "revenue_by_month": [[month, f"{Decimal(amount):.2f}"] for month, amount in headlines.revenue_by_month],
            "orders_by_channel": [[english.get(name, name), n] for name, n in headlines.orders_by_channel],
            "chart_labels": {"revenue": _("Revenue"), "orders": _("Orders")},
        },
    )


def _search_rows(user: User, hits: list[SearchHit]) -> list[dict[str, object]]:
    customers = [hit.customer for hit in hits]
    prefetch_related_objects(customers, "identities")
    return [{**customer_row(hit.customer), "matched_on": hit.matched_on} for hit in hits]


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    policy.check(user, policy.VIEW_CUSTOMERS)
    query = _query(request)
    hits = search_customers(user, query) if query else []
    if len(hits) == 1 and hits[0].matched_on in EXACT_MATCHES:
        # In this response rather than by a redirect: an agent looking a caller up waits one round
        # trip, not two. The page gives its own address, which app.js puts in the address bar.
        return customer_page(request, hits[0].customer)
    return render(
        request,
        "web/search.html",
        {
            "nav_section": "customers",
            "search_query": query,
            "rows": _search_rows(user, hits),
            "too_short": bool(query) and len(query) < MIN_NAME_QUERY,
        },
    )


@login_required
@require_GET
def search_live(request: HttpRequest) -> HttpResponse:
    """The header box's dropdown: the first few hits, as an HTMX partial."""
    user: User = request.user  # type: ignore[assignment]
    policy.check(user, policy.VIEW_CUSTOMERS)
    query = _query(request)
    hits = search_customers(user, query, limit=8) if query else []
    context = {"search_query": query, "rows": _search_rows(user, hits), "too_short": len(query) < MIN_NAME_QUERY}
    return render(request, "web/_search_live.html", context)
