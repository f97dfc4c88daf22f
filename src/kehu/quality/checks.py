"""The data-quality checks: each finds one kind of problem (invalid, missing, duplicate or
inconsistent data) among the records a user may see, with one aggregate query, so the page stays
fast at millions of customers. Fixes live in `actions.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any

from django.db.models import Count, DecimalField, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from kehu.accounts.models import User

INVALID, MISSING, DUPLICATE, INCONSISTENT = "invalid", "missing", "duplicate", "inconsistent"
CATEGORIES: dict[str, StrOrPromise] = {
    INVALID: _("Invalid"),
    MISSING: _("Missing"),
    DUPLICATE: _("Duplicates"),
    INCONSISTENT: _("Inconsistent"),
}

# A stored phone must be E.164; Chinese mobiles (+861…) have exactly 11 national digits.
E164 = r"^\+[1-9][0-9]{6,14}$"
CN_MOBILE = r"^\+861[3-9][0-9]{9}$"
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CONTACT_KINDS = ("phone", "email", "wechat_openid", "wechat_unionid")


@dataclass(frozen=True)
class Check:
    key: str
    category: str
    title: StrOrPromise
    help: StrOrPromise
    # "customer", "identity", "address", "order" or "group" (duplicate groups)
    subject: str
    records: Callable[[User], QuerySet[Any]]
    fix_label: StrOrPromise | None = None
    fix_help: StrOrPromise | None = None
    # Joins every order: seconds to a minute at millions of rows, so counted in the background.
    heavy: bool = False

    @property
    def fixable(self) -> bool:
        return self.fix_label is not None

    def count(self, user: User) -> int:
        return self.records(user).count()


# --- scopes ------------------------------------------------------------------------------------


def _customers(user: User) -> QuerySet[Any]:
    from kehu.customers.queries import visible_customers

    return visible_customers(user)


def _in_scope(qs: QuerySet[Any], user: User, field: str = "customer") -> QuerySet[Any]:
    """Restrict rows hanging off a customer to the user's customers (a no-op for most roles)."""
    if policy.is_store_scoped(user):
        return qs.filter(**{f"{field}__in": _customers(user).values("pk")})
    policy.check(user, policy.VIEW_CUSTOMERS)
    return qs


# --- invalid -----------------------------------------------------------------------------------


def invalid_phones(user: User) -> QuerySet[Any]:
    from kehu.customers.models import CustomerIdentity

    bad = ~Q(value__regex=E164) | (Q(value__startswith="+861") & ~Q(value__regex=CN_MOBILE))
    return _in_scope(CustomerIdentity.objects.filter(kind="phone").filter(bad), user)


def invalid_emails(user: User) -> QuerySet[Any]:
    from kehu.customers.models import CustomerIdentity

    emails = CustomerIdentity.objects.filter(kind="email").annotate(lowered=Lower("value"))
    bad = ~Q(value__regex=EMAIL_SHAPE) | ~Q(value=F("lowered"))
    return _in_scope(emails.filter(bad), user)


# --- missing -----------------------------------------------------------------------------------


def no_contact(user: User) -> QuerySet[Any]:
    from kehu.customers.models import CustomerIdentity

    reachable = CustomerIdentity.objects.filter(customer=OuterRef("pk"), kind__in=CONTACT_KINDS)
    return _customers(user).filter(~Exists(reachable))


def no_name(user: User) -> QuerySet[Any]:
    return _customers(user).filter(Q(name="") | Q(name__regex=r"^\s+$"))


def store_orders(user: User) -> QuerySet[Any]:
    from kehu.commerce.queries import visible_orders

    return visible_orders(user).filter(store__isnull=False)


def no_home_store(user: User) -> QuerySet[Any]:
    """Customers who bought in a store but have no home store."""
    bought_in_store = store_orders(user).filter(customer=OuterRef("pk"))
    return _customers(user).filter(home_store__isnull=True).filter(Exists(bought_in_store))


# --- duplicates --------------------------------------------------------------------------------


def same_name_birthday(user: User) -> QuerySet[Any]:
    """Groups (name, birthday) shared by more than one customer."""
    return (
        _customers(user)
        .exclude(name="")
        .filter(birthday__isnull=False)
        .values("name", "birthday")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("-n", "name", "birthday")
    )


def same_name_address(user: User) -> QuerySet[Any]:
    """Groups (name, full street address) shared by more than one customer."""
    from kehu.customers.models import Address

    return (
        _in_scope(Address.objects.exclude(detail="").exclude(customer__name=""), user)
        .values("customer__name", "province", "city", "district", "detail")
        .annotate(n=Count("customer", distinct=True))
        .filter(n__gt=1)
        .order_by("-n", "customer__name")
    )


# --- inconsistent ------------------------------------------------------------------------------


def stats_drift(user: User) -> QuerySet[Any]:
    """Customers whose cached purchase figures differ from their orders. One grouped join of
    customers and orders (the same definition as `kehu.customers.actions.purchase_stats_query`,
    which the fix uses), not a correlated subquery per customer."""
    from kehu.commerce.models import PURCHASE_STATUSES

    purchases = Q(orders__status__in=PURCHASE_STATUSES)
    money = DecimalField(max_digits=14, decimal_places=2)
    qs = _customers(user).annotate(
        real_order_count=Count("orders", filter=purchases),
        real_total_spent=Coalesce(
            Sum("orders__paid_amount", filter=purchases) - Sum("orders__refunded_amount", filter=purchases),
            Value(0, output_field=money),
            output_field=money,
        ),
        real_first=Min("orders__ordered_at", filter=purchases),
        real_last=Max("orders__ordered_at", filter=purchases),
    )
    differs = ~Q(order_count=F("real_order_count")) | ~Q(total_spent=F("real_total_spent"))
    for cached, computed in (("first_order_at", "real_first"), ("last_order_at", "real_last")):
        differs |= Q(**{f"{cached}__isnull": True, f"{computed}__isnull": False})
        differs |= Q(**{f"{cached}__isnull": False, f"{computed}__isnull": True})
        differs |= Q(**{f"{cached}__isnull": False, f"{computed}__isnull": False}) & ~Q(**{cached: F(computed)})
    return qs.filter(differs)


def _city_province_conflict() -> Q:
    from kehu.quality.divisions import CITY_PROVINCE, city_names, province_names

    by_province: dict[str, list[str]] = {}
    for city, province in CITY_PROVINCE.items():
        by_province.setdefault(province, []).extend(city_names(city))
    return reduce(
        or_,
        (Q(city__in=cities) & ~Q(province__in=province_names(p)) for p, cities in by_province.items()),
    )


def city_outside_province(user: User) -> QuerySet[Any]:
    """Addresses whose (known) city lies in another province than the one written."""
    from kehu.customers.models import Address

    return _in_scope(Address.objects.exclude(province="").filter(_city_province_conflict()), user)


def order_amount_mismatch(user: User) -> QuerySet[Any]:
    """Purchases whose paid amount is not their lines' sum less the discount (one grouped join
    of orders and lines)."""
    from kehu.commerce.models import PURCHASE_STATUSES
    from kehu.commerce.queries import visible_orders

    return (
        visible_orders(user)
        .filter(status__in=PURCHASE_STATUSES)
        .annotate(lines_total=Sum("lines__amount"))
        .filter(lines_total__isnull=False)
        .exclude(paid_amount=F("lines_total") - F("discount_amount"))
    )


CHECKS: tuple[Check, ...] = (
    Check(
        "invalid_phone",
        INVALID,
        _("Phone numbers not in E.164 form"),
        _("Stored phone numbers must look like +8613800138000. Most can be re-normalised."),
        "identity",
        invalid_phones,
        _("Re-normalise phone numbers"),
        _("Numbers that normalise to a valid E.164 number are rewritten; the rest stay for manual correction."),
    ),
    Check(
        "invalid_email",
        INVALID,
        _("Invalid or unnormalised emails"),
        _("Emails must be valid addresses in lower case."),
        "identity",
        invalid_emails,
        _("Re-normalise emails"),
        _("Valid addresses are lower-cased and trimmed; the rest stay for manual correction."),
    ),
    Check(
        "no_contact",
        MISSING,
        _("Customers with no way to reach them"),
        _("No phone, email or WeChat identity."),
        "customer",
        no_contact,
    ),
    Check("no_name", MISSING, _("Customers without a name"), _("The name is empty."), "customer", no_name),
    Check(
        "no_home_store",
        MISSING,
        _("Store customers without a home store"),
        _("They bought in a store but have no home store."),
        "customer",
        no_home_store,
        _("Set home store"),
        _("The home store becomes the store of their most recent store purchase."),
    ),
    Check(
        "same_name_birthday",
        DUPLICATE,
        _("Same name and birthday"),
        _("Groups of customers with the same name and birthday: likely duplicates."),
        "group",
        same_name_birthday,
    ),
    Check(
        "same_name_address",
        DUPLICATE,
        _("Same name and address"),
        _("Groups of customers with the same name and street address: likely duplicates."),
        "group",
        same_name_address,
        heavy=True,
    ),
    Check(
        "stats_drift",
        INCONSISTENT,
        _("Purchase figures out of step with orders"),
        _("Cached order count, total spent, or first/last purchase differ from the orders."),
        "customer",
        stats_drift,
        _("Recompute purchase figures"),
        _("Order count, total spent and first/last purchase are recomputed from the orders."),
        heavy=True,
    ),
    Check(
        "city_outside_province",
        INCONSISTENT,
        _("City not in the province"),
        _("The address's city belongs to another province."),
        "address",
        city_outside_province,
        _("Correct the province"),
        _("The province is set to the one the city belongs to."),
    ),
    Check(
        "order_amount_mismatch",
        INCONSISTENT,
        _("Orders whose paid amount does not match their lines"),
        _("Paid amount differs from the sum of the lines less the discount. Check them with the source system."),
        "order",
        order_amount_mismatch,
        heavy=True,
    ),
)


def get_check(key: str) -> Check:
    for check in CHECKS:
        if check.key == key:
            return check
    raise Http404(_("No such check."))
