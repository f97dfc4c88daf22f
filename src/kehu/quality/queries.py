"""Reads of the data-quality page: problem counts per check (cached for a few minutes per scope)
and the drill-down rows of one check, personal data masked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy
from kehu.quality.checks import CATEGORIES, CHECKS, Check
from kehu.quality.models import FixRun

if TYPE_CHECKING:
    from kehu.accounts.models import User

DRILL_LIMIT = 100


def scope_key(user: User) -> str:
    if not policy.is_store_scoped(user):
        return "all"
    return "stores-" + "-".join(str(pk) for pk in user.stores.order_by("pk").values_list("pk", flat=True))


def checks_by_category() -> list[tuple[str, Any, list[Check]]]:
    return [(cat, label, [c for c in CHECKS if c.category == cat]) for cat, label in CATEGORIES.items()]


def review_queue_url() -> str | None:
    """The duplicate review queue of `kehu.identity`, when that app is installed."""
    try:
        return reverse("identity:review")
    except NoReverseMatch:
        return None


def _masked_identity(identity: Any) -> str:
    from kehu.customers.presenters import identity_display

    return identity_display(identity, unmasked=False)


def drill_down(user: User, check: Check) -> list[dict[str, Any]]:
    """Up to DRILL_LIMIT rows of one check, each with a label, a detail and a link."""
    records = check.records(user)
    rows: list[dict[str, Any]] = []
    if check.subject == "identity":
        for identity in records.select_related("customer").order_by("pk")[:DRILL_LIMIT]:
            rows.append(
                {
                    "label": identity.customer.name or _("(no name)"),
                    "detail": _masked_identity(identity),
                    "url": reverse("customer-detail", args=[identity.customer_id]),
                }
            )
    elif check.subject == "customer":
        for customer in records.select_related("home_store").order_by("-pk")[:DRILL_LIMIT]:
            detail = ""
            if check.key == "stats_drift":
                detail = _("cached %(c)s orders / ¥%(cs)s, orders say %(r)s / ¥%(rs)s") % {
                    "c": customer.order_count,
                    "cs": customer.total_spent,
                    "r": customer.real_order_count,
                    "rs": customer.real_total_spent,
                }
            rows.append(
                {
                    "label": customer.name or _("(no name)"),
                    "detail": detail,
                    "url": reverse("customer-detail", args=[customer.pk]),
                }
            )
    elif check.subject == "address":
        for address in records.select_related("customer").order_by("pk")[:DRILL_LIMIT]:
            rows.append(
                {
                    "label": address.customer.name or _("(no name)"),
                    "detail": f"{address.province} · {address.city} {address.district}",
                    "url": reverse("customer-detail", args=[address.customer_id]),
                }
            )
    elif check.subject == "order":
        for order in records.select_related("customer").order_by("-pk")[:DRILL_LIMIT]:
            rows.append(
                {
                    "label": order.number,
                    "detail": _("paid ¥%(paid)s, lines ¥%(lines)s, discount ¥%(discount)s")
                    % {"paid": order.paid_amount, "lines": order.lines_total, "discount": order.discount_amount},
                    "url": reverse("order-detail", args=[order.pk]),
                }
            )
    elif check.subject == "group":
        rows = _duplicate_groups(user, check, list(records[:DRILL_LIMIT]))
    return rows


def _duplicate_groups(user: User, check: Check, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each group with its members (ids and links), fetched in one query per group page."""
    from django.db.models import Q

    from kehu.customers.queries import visible_customers

    if not groups:
        return []
    cond = Q()
    for g in groups:
        if check.key == "same_name_birthday":
            cond |= Q(name=g["name"], birthday=g["birthday"])
        else:
            cond |= Q(
                name=g["customer__name"],
                addresses__province=g["province"],
                addresses__city=g["city"],
                addresses__district=g["district"],
                addresses__detail=g["detail"],
            )
    members: dict[tuple[Any, ...], list[int]] = {}
    fields = (
        ("name", "birthday")
        if check.key == "same_name_birthday"
        else ("name", "addresses__province", "addresses__city", "addresses__district", "addresses__detail")
    )
    for row in visible_customers(user).filter(cond).values("pk", *fields).order_by("pk").distinct():
        members.setdefault(tuple(row[f] for f in fields), []).append(row["pk"])
    rows = []
    for g in groups:
        key = tuple(g.values())[: len(fields)]
        ids = members.get(key, [])
        label = g.get("name") or g.get("customer__name")
        detail = str(g["birthday"]) if "birthday" in g else f"{g['province']}{g['city']}{g['district']}"
        rows.append(
            {
                "label": label,
                "detail": detail,
                "count": g["n"],
                "members": [(pk, reverse("customer-detail", args=[pk])) for pk in ids[:10]],
            }
        )
    return rows


def recent_fixes(user: User) -> list[FixRun]:
    return list(FixRun.objects.filter(created_by=user).order_by("-created_at")[:10])


def access_fix_run(user: User, run_id: int) -> FixRun:
    policy.check(user, policy.EDIT_CUSTOMERS)
    qs = FixRun.objects.all()
    if not policy.can(user, policy.MANAGE_STAFF):
        qs = qs.filter(created_by=user)
    try:
        return qs.get(pk=run_id)
    except FixRun.DoesNotExist:
        raise Http404(_("No such fix.")) from None
