"""What each role may do. One table, read by views, the API and exports alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from kehu.accounts.models import Role

if TYPE_CHECKING:
    from kehu.accounts.models import User

# Capabilities, in the business's words.
VIEW_CUSTOMERS = "customers.view"
EDIT_CUSTOMERS = "customers.edit"
UNMASK = "customers.unmask"
VIEW_ORDERS = "orders.view"
INGEST_ORDERS = "orders.ingest"
VIEW_AUDIT = "audit.view"
EXPORT = "data.export"
MANAGE_STAFF = "staff.manage"
RUN_SCORING = "scoring.run"
IMPORT_DATA = "data.import"
MERGE_CUSTOMERS = "customers.merge"
MANAGE_FIELDS = "settings.fields"
ENTER_SALES = "sales.enter"

ALL = {
    VIEW_CUSTOMERS,
    EDIT_CUSTOMERS,
    UNMASK,
    VIEW_ORDERS,
    INGEST_ORDERS,
    VIEW_AUDIT,
    EXPORT,
    MANAGE_STAFF,
    RUN_SCORING,
    IMPORT_DATA,
    MERGE_CUSTOMERS,
    MANAGE_FIELDS,
    ENTER_SALES,
}

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(ALL),
    Role.MARKETING: frozenset({VIEW_CUSTOMERS, VIEW_ORDERS, EXPORT, RUN_SCORING, IMPORT_DATA}),
    Role.SALES: frozenset(
        {
            VIEW_CUSTOMERS,
            EDIT_CUSTOMERS,
            UNMASK,
            VIEW_ORDERS,
            INGEST_ORDERS,
            EXPORT,
            IMPORT_DATA,
            MERGE_CUSTOMERS,
            ENTER_SALES,
        }
    ),
    Role.SERVICE: frozenset({VIEW_CUSTOMERS, EDIT_CUSTOMERS, UNMASK, VIEW_ORDERS, MERGE_CUSTOMERS}),
    # Store managers enter sales for their own stores only (the grid scopes rows to them).
    Role.STORE_MANAGER: frozenset({VIEW_CUSTOMERS, EDIT_CUSTOMERS, VIEW_ORDERS, EXPORT, ENTER_SALES}),
    Role.ANALYST: frozenset({VIEW_CUSTOMERS, VIEW_ORDERS, EXPORT, RUN_SCORING}),
}


def capabilities(user: User) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(ALL)
    return ROLE_CAPABILITIES.get(user.role, frozenset())


def can(user: User, capability: str) -> bool:
    return capability in capabilities(user)


def check(user: User, capability: str) -> None:
    """Raise PermissionDenied unless the user's role grants the capability."""
    if not can(user, capability):
        raise PermissionDenied(capability)


def is_store_scoped(user: User) -> bool:
    """Store managers see only their own stores' customers and orders."""
    return not user.is_superuser and user.role == Role.STORE_MANAGER
