"""Churn reasons in the user's language: the engine explains a risk as `feature=value (+effect)`;
staff read "72 days since the last purchase"."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

REASON = re.compile(r"^\s*(?P<feature>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>[^\s;]+)")
WINDOW = re.compile(r"^(?P<what>frequency|monetary)_(?P<days>\d+)d$")


def _money(value: float) -> str:
    return f"¥{value:,.0f}"


def describe_reason(reason: str) -> str:
    """One engine reason as a sentence; anything unrecognised is shown as it came."""
    match = REASON.match(reason)
    if not match:
        return reason.strip()
    feature = match["feature"]
    try:
        value = float(match["value"])
    except ValueError:
        return f"{feature}: {match['value']}"
    window = WINDOW.match(feature)
    if window:
        days = int(window["days"])
        if window["what"] == "frequency":
            return _("%(n)d purchases in the last %(days)d days") % {"n": round(value), "days": days}
        return _("spent %(amount)s in the last %(days)d days") % {"amount": _money(value), "days": days}
    sentences = {
        "recency_days": lambda v: _("%(n)d days since the last purchase") % {"n": round(v)},
        "tenure_days": lambda v: _("a customer for %(n)d days") % {"n": round(v)},
        "purchase_days": lambda v: _("%(n)d purchases in all") % {"n": round(v)},
        "total_amount": lambda v: _("spent %(amount)s in all") % {"amount": _money(v)},
        "avg_order_value": lambda v: _("average order %(amount)s") % {"amount": _money(v)},
        "return_rate": lambda v: _("%(pct)d%% of items returned") % {"pct": round(v * 100)},
        "refund_share": lambda v: _("%(pct)d%% of spending refunded") % {"pct": round(v * 100)},
        "mean_interpurchase_days": lambda v: _("buys every %(n)d days on average") % {"n": round(v)},
        "frequency_trend": lambda v: _("buying %(x).1f× as often as over the year") % {"x": v},
        "monetary_trend": lambda v: _("spending %(x).1f× the yearly pace") % {"x": v},
    }
    describe = sentences.get(feature)
    return describe(value) if describe else f"{feature}: {match['value']}"


def describe_reasons(reasons: list[str]) -> list[str]:
    return [describe_reason(r) for r in reasons]
