"""Template filters for the analytics pages: translated tier, lifecycle stage and category names."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

register = template.Library()

STAGE_LABELS = {
    "prospect": _("Prospect"),
    "new": _("New"),
    "development": _("Development"),
    "stability": _("Stability"),
    "decline": _("Decline"),
    "churned": _("Churned"),
}
TIER_LABELS = {"gold": _("Gold"), "silver": _("Silver"), "bronze": _("Bronze")}
WARNING_LABELS = {
    "R_SLIDE": _("Recency sliding"),
    "F_SLIDE": _("Frequency sliding"),
    "M_SLIDE": _("Spend sliding"),
    "R_PLUNGE": _("Recency plunged"),
    "F_PLUNGE": _("Frequency plunged"),
    "M_PLUNGE": _("Spend plunged"),
    "BIG_SPENDER_M_DROP": _("Big spender spending less"),
    "TIER_DOWN": _("Tier fell"),
}


# The care each tier gets, as the retail playbook puts it (不同级别的客户采用不同方式进行客户关怀).
TIER_CARE = {
    "gold": _("Gold service: priority handling, free exchange shipping, personal thanks."),
    "silver": _("Loyal but unstable: the main target of retention work — grow them into gold."),
    "bronze": _("Potential churn: decide whether to win them back or let them go."),
}
STRATEGY_LABELS = {
    "acquisition": _("Acquire"),
    "development": _("Develop"),
    "retention": _("Retain"),
    "win-back": _("Win back"),
}


@register.filter
def tier_care(value: str) -> str:
    return str(TIER_CARE.get(value, ""))


@register.filter
def stage_strategy(stage: str) -> str:
    from kehu.analytics.lifecycle import LifecycleRules

    strategy = LifecycleRules().strategies.get(stage, "")
    return str(STRATEGY_LABELS.get(strategy, strategy))


@register.filter
def stage_label(value: str) -> str:
    return str(STAGE_LABELS.get(value, value or "—"))


@register.filter
def tier_label(value: str) -> str:
    return str(TIER_LABELS.get(value, value or "—"))


@register.filter
def warning_label(value: str) -> str:
    return str(WARNING_LABELS.get(value, value))


@register.filter
def warning_grades(reason: str) -> str:
    """The grade path of a warning's stored reason ("<description>: A→B→C" or "…: gold→silver"), in the
    user's language: the description is the analytics engine's English (the code's label says it), the
    tiers are translated."""
    path = (reason or "").rsplit(": ", 1)[-1]
    return " → ".join(str(TIER_LABELS.get(step, step)) for step in path.split("→"))


@register.filter
def category_label(code: str) -> str:
    """A product category's name in the user's language, from its code."""
    from kehu.commerce.models import ProductCategory

    category = ProductCategory.objects.filter(code=code).only("name", "name_en").first()
    if category is None:
        return code
    english = (get_language() or "").startswith("en")
    return category.name_en if english and category.name_en else category.name


@register.filter
def reasons_text(reasons: list[str]) -> str:
    """Churn reasons as readable sentences joined with '; '."""
    from kehu.scoring.reasons import describe_reasons

    return "; ".join(describe_reasons(list(reasons or [])))
