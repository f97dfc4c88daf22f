"""Saving a grid: every changed cell is validated, then all are written in one transaction with
bulk statements, or none is. `check_*` validates and refuses; `do_*` trusts its input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.accounts import policy
from kehu.accounts.models import User
from kehu.commerce.models import Product, Store
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction
from kehu.sales import queries
from kehu.sales.cells import CellValue, parse_amount, parse_quantity, show
from kehu.sales.models import FigureChange, SalesTarget, Sheet, StoreMonthlySales

if TYPE_CHECKING:
    from django.http import HttpRequest

MAX_CELLS = 20_000  # one save; a 200-store × 20-model grid with both measures is 8,000
BATCH = 500
STORE_SALES_FIELDS = ("quantity", "amount")
TARGET_FIELD = "target"

Figure = int | Decimal | None


@dataclass(frozen=True)
class CellError:
    row: int | str
    col: int | str
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "col": self.col, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Cell:
    """A validated change: the new figure, and the figure the user saw when they loaded the grid
    (`was`, None if the client did not say), used to detect someone else's save in between."""

    row: int
    col: int
    field: str
    value: Figure
    was: Figure | None
    was_given: bool


@dataclass
class SaveResult:
    errors: list[CellError] = field(default_factory=list)
    changed: int = 0  # cells whose stored figure changed
    unchanged: int = 0  # cells sent with the figure already stored (a re-save)

    @property
    def ok(self) -> bool:
        return not self.errors


class GridError(ValueError):
    """The request as a whole is malformed (not one cell's fault)."""


def _conflict(cell: Any, before: Any) -> CellError | None:
    """The error for a cell someone else saved since this grid was opened (optimistic check)."""
    if cell.was_given and cell.was != before:
        return CellError(
            cell.row,
            cell.col,
            cell.field,
            _("Changed by someone else since you opened the grid (now %(value)s). Reload to see it.")
            % {"value": show(before) or "—"},
        )
    return None


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _read_cells(
    raw_cells: object, fields: Mapping[str, Any], errors: list[CellError], *, col_check: Any = None
) -> list[Cell]:
    """Parse the posted list of {row, col, field, value, was}; bad values become cell errors."""
    if not isinstance(raw_cells, list):
        raise GridError(_("Nothing to save: the request has no list of cells."))
    if len(raw_cells) > MAX_CELLS:
        raise GridError(_("Too many cells in one save (at most %(n)s).") % {"n": f"{MAX_CELLS:,}"})
    cells: list[Cell] = []
    seen: set[tuple[int, int, str]] = set()
    for raw in raw_cells:
        if not isinstance(raw, dict):
            raise GridError(_("A cell in the request is not an object."))
        row, col, name = _as_id(raw.get("row")), _as_id(raw.get("col")), str(raw.get("field"))
        if row is None or col is None or name not in fields or (col_check and not col_check(col)):
            raise GridError(_("A cell in the request does not name a row, column and field of this sheet."))
        parse = fields[name]
        parsed: CellValue = parse(raw.get("value"))
        if parsed.error:
            errors.append(CellError(row, col, name, parsed.message))
            continue
        if (row, col, name) in seen:
            errors.append(CellError(row, col, name, _("This cell was sent twice.")))
            continue
        seen.add((row, col, name))
        was_given = "was" in raw
        was = parse(raw.get("was")).value if was_given else None
        cells.append(Cell(row, col, name, parsed.value, was, was_given))
    return cells


def _check_rows(
    cells: Iterable[Cell], allowed: set[int], existing: set[int], errors: list[CellError], unknown: str
) -> None:
    """Unknown rows are cell errors; rows that exist but are outside the user's scope refuse the
    whole save (PermissionDenied), so that nothing of it is written."""
    for cell in cells:
        if cell.row in allowed:
            continue
        if cell.row in existing:
            raise PermissionDenied(_("You may not enter figures for this row."))
        errors.append(CellError(cell.row, cell.col, cell.field, unknown))


# --- store sales ---------------------------------------------------------------------------


def check_save_store_sales(
    user: User, month: dt.date, raw_cells: object, *, request: HttpRequest | None = None
) -> SaveResult:
    """Validate a store-sales save (rows are stores, columns products, fields quantity/amount) and
    save it all, or return the per-cell errors and save nothing."""
    policy.check(user, policy.ENTER_SALES)
    errors: list[CellError] = []
    cells = _read_cells(raw_cells, {"quantity": parse_quantity, "amount": parse_amount}, errors)
    store_ids = {c.row for c in cells}
    allowed = set(queries.enterable_stores(user).filter(pk__in=store_ids).values_list("pk", flat=True))
    existing = set(Store.objects.filter(pk__in=store_ids - allowed).values_list("pk", flat=True))
    _check_rows(cells, allowed, existing, errors, _("No such store."))
    product_ids = {c.col for c in cells}
    known = set(Product.objects.filter(pk__in=product_ids).values_list("pk", flat=True))
    errors += [CellError(c.row, c.col, c.field, _("No such product.")) for c in cells if c.col not in known]
    if errors:
        return SaveResult(errors=errors)
    return do_save_store_sales(user, month, cells, request=request)


def do_save_store_sales(
    actor: User | None, month: dt.date, cells: list[Cell], *, request: HttpRequest | None = None
) -> SaveResult:
    """Write validated cells in one transaction: lock the affected rows, refuse cells someone else
    changed since the grid was loaded, upsert the rest in bulk, delete rows left with no figure,
    and record every changed cell's before/after."""
    result = SaveResult()
    if not cells:
        return result
    now = timezone.now()
    # Ids, not instances: setting a relation on thousands of new rows costs more than the insert.
    actor_id = actor.pk if actor is not None else None
    with transaction.atomic():
        stored = {
            (row.store_id, row.product_id): row
            for row in StoreMonthlySales.objects.select_for_update().filter(
                month=month,
                store_id__in={c.row for c in cells},
                product_id__in={c.col for c in cells},
            )
        }
        state: dict[tuple[int, int], dict[str, Figure]] = {}
        changes: list[FigureChange] = []
        for cell in cells:
            key = (cell.row, cell.col)
            row = stored.get(key)
            current = state.setdefault(
                key, {"quantity": row.quantity, "amount": row.amount} if row else {"quantity": None, "amount": None}
            )
            before = current[cell.field]
            if before == cell.value:
                result.unchanged += 1
                continue
            conflict = _conflict(cell, before)
            if conflict is not None:
                result.errors.append(conflict)
                continue
            current[cell.field] = cell.value
            changes.append(
                FigureChange(
                    saved_at=now,
                    actor_id=actor_id,
                    sheet=Sheet.STORE_SALES,
                    month=month,
                    row_id=cell.row,
                    column_id=cell.col,
                    field=cell.field,
                    before=show(before),
                    after=show(cell.value),
                )
            )
        if result.errors:
            return result
        touched = {(c.row_id, c.column_id) for c in changes}
        upserts = [
            StoreMonthlySales(
                month=month,
                store_id=store_id,
                product_id=product_id,
                quantity=state[(store_id, product_id)]["quantity"],
                amount=state[(store_id, product_id)]["amount"],
                entered_by_id=actor_id,
                updated_at=now,
            )
            for store_id, product_id in touched
            if any(v is not None for v in state[(store_id, product_id)].values())
        ]
        emptied = [stored[key].pk for key in touched if key in stored and all(v is None for v in state[key].values())]
        StoreMonthlySales.objects.bulk_create(
            upserts,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["month", "store", "product"],
            update_fields=["quantity", "amount", "entered_by", "updated_at"],
        )
        if emptied:
            StoreMonthlySales.objects.filter(pk__in=emptied).delete()
        _record(actor, Sheet.STORE_SALES, month.isoformat(), changes, request)
    result.changed = len(changes)
    return result


# --- targets -------------------------------------------------------------------------------


def check_save_targets(user: User, year: int, raw_cells: object, *, request: HttpRequest | None = None) -> SaveResult:
    """Validate a targets save (rows are salespersons, columns the months 1–12 of `year`) and
    save it all, or return the per-cell errors and save nothing."""
    policy.check(user, policy.ENTER_SALES)
    errors: list[CellError] = []
    cells = _read_cells(raw_cells, {TARGET_FIELD: parse_amount}, errors, col_check=lambda m: 1 <= m <= 12)
    person_ids = {c.row for c in cells}
    allowed = set(queries.enterable_salespersons(user).filter(pk__in=person_ids).values_list("pk", flat=True))
    # Salespersons outside the user's scope refuse the save; anyone else is "no such salesperson".
    existing = set(
        User.objects.filter(
            pk__in=person_ids - allowed, is_active=True, role__in=queries.SALESPERSON_ROLES
        ).values_list("pk", flat=True)
    )
    _check_rows(cells, allowed, existing, errors, _("No such salesperson."))
    if errors:
        return SaveResult(errors=errors)
    return do_save_targets(user, year, cells, request=request)


def do_save_targets(
    actor: User | None, year: int, cells: list[Cell], *, request: HttpRequest | None = None
) -> SaveResult:
    """Write validated target cells in one transaction (see `do_save_store_sales`)."""
    result = SaveResult()
    if not cells:
        return result
    now = timezone.now()
    # Ids, not instances: setting a relation on thousands of new rows costs more than the insert.
    actor_id = actor.pk if actor is not None else None
    with transaction.atomic():
        stored = {
            (t.salesperson_id, t.month.month): t
            for t in SalesTarget.objects.select_for_update().filter(
                salesperson_id__in={c.row for c in cells},
                month__in={dt.date(year, c.col, 1) for c in cells},
            )
        }
        changes: list[FigureChange] = []
        upserts: list[SalesTarget] = []
        emptied: list[int] = []
        for cell in cells:
            row = stored.get((cell.row, cell.col))
            before = row.amount if row else None
            if before == cell.value:
                result.unchanged += 1
                continue
            conflict = _conflict(cell, before)
            if conflict is not None:
                result.errors.append(conflict)
                continue
            month = dt.date(year, cell.col, 1)
            if cell.value is None:
                emptied.append(row.pk)  # type: ignore[union-attr]  # before != None, so row exists
            else:
                upserts.append(
                    SalesTarget(
                        month=month,
                        salesperson_id=cell.row,
                        amount=cell.value,
                        entered_by_id=actor_id,
                        updated_at=now,
                    )
                )
            changes.append(
                FigureChange(
                    saved_at=now,
                    actor_id=actor_id,
                    sheet=Sheet.TARGETS,
                    month=month,
                    row_id=cell.row,
                    column_id=None,
                    field=TARGET_FIELD,
                    before=show(before),
                    after=show(cell.value),
                )
            )
        if result.errors:
            return result
        SalesTarget.objects.bulk_create(
            upserts,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["month", "salesperson"],
            update_fields=["amount", "entered_by", "updated_at"],
        )
        if emptied:
            SalesTarget.objects.filter(pk__in=emptied).delete()
        _record(actor, Sheet.TARGETS, str(year), changes, request)
    result.changed = len(changes)
    return result


def _record(
    actor: User | None, sheet: str, object_id: str, changes: list[FigureChange], request: HttpRequest | None
) -> None:
    """Keep the per-cell history and one audit entry for the save."""
    if not changes:
        return
    FigureChange.objects.bulk_create(changes, batch_size=BATCH)
    do_audit(
        actor,
        AuditAction.UPDATE,
        f"sales.{sheet}",
        object_id,
        after={
            "cells": len(changes),
            "rows": len({c.row_id for c in changes}),
            "months": sorted({c.month.isoformat()[:7] for c in changes}),
        },
        request=request,
    )
