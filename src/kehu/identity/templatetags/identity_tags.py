"""The 360 page's identity card: possible duplicates of this customer and its merge history."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.accounts import policy
from kehu.identity import queries

register = template.Library()


@register.inclusion_tag("identity/_customer_duplicates.html", takes_context=True)
def customer_identity_card(context: Any, customer: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    can_merge = policy.can(user, policy.MERGE_CUSTOMERS)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "duplicates": queries.suggestions_for(user, customer) if can_merge else [],
        "merges": queries.merge_history(customer, limit=10) if can_merge else [],
        "can_merge": can_merge,
    }
