"""Custom fields in imports: an importer extension (see `kehu.imports.registry`) that adds each
active field of the import's entity as a mappable column, matched by its Chinese or English
label or its key, validates the cells with `kehu.customfields.values` (the same rules as the
form and the API), drops records with a bad custom cell (reported as row errors), and after the
importer's own write merges the values into the records' `custom` JSON set-based.

Both import paths go through here: row-wise `validate` and column-wise `validate_columns`.
An empty cell leaves a stored value as it is (like the importers' other profile columns);
a required field's column, when mapped, may not be empty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from kehu.customers.bulk_upsert import Change
from kehu.customfields.models import FieldDefinition
from kehu.customfields.queries import active_fields
from kehu.customfields.registry import entity_for_import
from kehu.customfields.values import Unset, coerce_value
from kehu.imports import bulksql
from kehu.imports.cleansing import fold
from kehu.imports.registry import CUSTOM_VALUES_PREFIX, Field, Importer, MappedRow, RowError

PREFIX = "custom."


def column_name(definition: FieldDefinition) -> str:
    return PREFIX + definition.key


def extend_importer(kind: str, base: type[Importer]) -> type[Importer]:
    """The importer class for `kind`, with the entity's active custom fields as extra columns
    (read from the database each time, so a field defined a moment ago is importable at once)."""
    entity = entity_for_import(kind)
    if entity is None or entity.key not in _WRITERS:
        return base
    try:
        with transaction.atomic():  # a savepoint, so a failure leaves an outer transaction usable
            definitions = tuple(active_fields(entity.key))
    except DatabaseError:
        # No custom-field table yet (a database not migrated): the importer works without them,
        # and the import itself reports what is wrong with the database or the file.
        return base
    if not definitions:
        return base
    taken = {f.name for f in base.fields}
    extra = tuple(
        Field(column_name(d), tuple(s for s in (d.label_zh, d.label_en, d.key) if s))
        for d in definitions
        if column_name(d) not in taken
    )
    attrs = {"fields": (*base.fields, *extra), "custom_definitions": definitions, "custom_entity": entity.key,
             "__module__": base.__module__, "__doc__": base.__doc__}  # fmt: skip
    return type(base.__name__, (CustomFieldsImport, base), attrs)


class CustomFieldsImport(Importer):
    """Mixed in before the built-in importer class (see `extend_importer`)."""

    custom_definitions: ClassVar[tuple[FieldDefinition, ...]] = ()
    custom_entity: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.custom_mapped = [d for d in self.custom_definitions if column_name(d) in self.columns]

    # --- validation ----------------------------------------------------------------------------

    def _custom_cells(self, number: int, cells: dict[str, str]) -> tuple[dict[str, Any], list[RowError]]:
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for d in self.custom_mapped:
            name = column_name(d)
            raw = cells.get(name, "")
            header = self.columns.get(name, name)
            try:
                value = coerce_value(d, raw)
            except ValidationError as exc:
                errors.append(RowError(number, header, "custom_invalid", " ".join(exc.messages)))
                continue
            if value is Unset:
                if d.required:
                    errors.append(
                        RowError(number, header, "required", _("%(label)s is required.") % {"label": d.label})
                    )
                continue
            values[d.key] = value
        return values, errors

    def validate(self, rows: Sequence[MappedRow]) -> tuple[Any, list[RowError]]:
        records, errors = super().validate(rows)  # type: ignore[safe-super]
        if not self.custom_mapped:
            return records, errors
        writer = _WRITERS[self.custom_entity]
        pending: dict[Any, dict[str, Any]] = {}
        bad: set[Any] = set()
        for key, number, cells in writer.groups(rows):
            values, cell_errors = self._custom_cells(number, cells)
            if cell_errors:
                errors.extend(cell_errors)
                bad.add(key)
            elif values:
                pending[key] = values
        if bad:
            records = [r for r in records if writer.record_key(r) not in bad]
        # Values only for records the importer accepted (a rejected order's number may exist).
        kept = {writer.record_key(r) for r in records}
        return WithCustomValues(records, {k: v for k, v in pending.items() if k in kept}), errors

    def validate_columns(self, chunk: Any) -> tuple[Any, list[RowError]]:
        batch, errors = super().validate_columns(chunk)
        if not self.custom_mapped or not len(batch):
            return batch, errors
        import numpy as np

        pending: dict[Any, dict[str, Any]] = {}
        position = {int(n): i for i, n in enumerate(chunk.numbers.tolist())}
        cells = {column_name(d): chunk.column(column_name(d)).to_pylist() for d in self.custom_mapped}
        keep = []
        for index, (first_row, number) in enumerate(zip(batch.first_row.tolist(), batch.number.tolist(), strict=True)):
            at = position[int(first_row)]
            values, cell_errors = self._custom_cells(int(first_row), {k: v[at] for k, v in cells.items()})
            if cell_errors:
                errors.extend(cell_errors)
                continue
            keep.append(index)
            if values:
                pending[number] = values
        if len(keep) < len(batch):
            batch = batch.take(np.array(keep, dtype=np.int64))
        return WithCustomValues(batch, pending), errors

    # --- writing -------------------------------------------------------------------------------

    def write(self, records: Any) -> Any:
        pending: dict[Any, dict[str, Any]] = {}
        if isinstance(records, WithCustomValues):
            records, pending = records.records, records.values
        result = super().write(records)  # type: ignore[safe-super]
        if pending:
            writer = _WRITERS[self.custom_entity]
            ids = writer.record_ids(self, records, pending)
            model = writer.model()
            previous = _merge(model, ids, pending)
            # History for revert: each changed record's values before this chunk.
            result.changes.extend(
                Change(CUSTOM_VALUES_PREFIX + model._meta.label_lower, pk, False, {"custom": stored})
                for pk, stored in previous
            )
        return result


@dataclass
class WithCustomValues:
    """A chunk's validated records with their custom-field values by record key, handed from
    `validate` to `write` together: the import may validate the next chunk while this one is
    written, so the values cannot wait on the importer. Reads like the records (length, items)."""

    records: Any
    values: dict[Any, dict[str, Any]]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Any:
        return self.records[index]

    def __iter__(self) -> Any:
        return iter(self.records)


def _merge(model: Any, ids: dict[Any, int], pending: dict[Any, dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Merge each record's new values into its stored `custom` (later rows of a chunk win);
    returns (id, stored values before) of the records that changed."""
    wanted: dict[int, dict[str, Any]] = {}
    for key, values in pending.items():
        pk = ids.get(key)
        if pk is not None:
            wanted.setdefault(pk, {}).update(values)
    if not wanted:
        return []
    rows = []
    before = []
    pks = list(wanted)
    for part in bulksql.batched(pks, bulksql.IN_BATCH):
        for pk, stored in model.objects.filter(pk__in=part).values_list("pk", "custom"):
            merged = {**(stored or {}), **wanted[pk]}
            if merged != stored:
                rows.append((pk, merged))
                before.append((pk, stored or {}))
    bulksql.update_by_id(model, ["custom"], rows)
    return before


class _CustomerWriter:
    """Customers: a record is one row (`CustomerRow.row`); ids are found the way the upsert
    resolved them: by source key, then phone, email, member card."""

    @staticmethod
    def model() -> Any:
        from kehu.customers.models import Customer

        return Customer

    @staticmethod
    def groups(rows: Sequence[MappedRow]) -> list[tuple[Any, int, dict[str, str]]]:
        return [(row.number, row.number, row.cells) for row in rows]

    @staticmethod
    def record_key(record: Any) -> Any:
        return record.row

    @staticmethod
    def record_ids(importer: Importer, records: Any, pending: dict[Any, dict[str, Any]]) -> dict[Any, int]:
        from kehu.customers.models import Customer, CustomerIdentity

        wanted = [r for r in records if r.row in pending]
        keys = {(r.source_system, r.source_id) for r in wanted if r.source_id}
        by_source: dict[tuple[str, str], int] = {}
        for system in {k[0] for k in keys}:
            source_ids = [k[1] for k in keys if k[0] == system]
            for part in bulksql.batched(source_ids, bulksql.IN_BATCH):
                for pk, source_id in Customer.objects.filter(source_system=system, source_id__in=part).values_list(
                    "pk", "source_id"
                ):
                    by_source[(system, source_id)] = pk
        pairs = {pair for r in wanted for pair in r.identities()}
        by_identity: dict[tuple[str, str], int] = {}
        for kind in {k for k, _v in pairs}:
            values = [v for k, v in pairs if k == kind]
            for part in bulksql.batched(values, bulksql.IN_BATCH):
                for customer_id, value in CustomerIdentity.objects.filter(kind=kind, value__in=part).values_list(
                    "customer_id", "value"
                ):
                    by_identity[(kind, value)] = customer_id
        ids: dict[Any, int] = {}
        for r in wanted:
            source = r.source_key()
            found = by_source.get(source) if source else None
            if found is None:
                found = next((by_identity[p] for p in r.identities() if p in by_identity), None)
            if found is not None:
                ids[r.row] = found
        return ids


class _OrderWriter:
    """Orders: a record is one order (several rows); the order's first row carries its custom
    values; ids are found by (source system, order number)."""

    @staticmethod
    def model() -> Any:
        from kehu.commerce.models import Order

        return Order

    @staticmethod
    def groups(rows: Sequence[MappedRow]) -> list[tuple[Any, int, dict[str, str]]]:
        out: list[tuple[Any, int, dict[str, str]]] = []
        last = None
        for row in rows:
            number = fold(row.cells.get("order_no", ""))
            if number != last:
                out.append((number, row.number, row.cells))
                last = number
        return out

    @staticmethod
    def record_key(record: Any) -> Any:
        return record.number

    @staticmethod
    def record_ids(importer: Importer, records: Any, pending: dict[Any, dict[str, Any]]) -> dict[Any, int]:
        from kehu.commerce.models import Order

        numbers = list(pending)
        ids: dict[Any, int] = {}
        for part in bulksql.batched(numbers, bulksql.IN_BATCH):
            for pk, source_id in Order.objects.filter(source_system=importer.source, source_id__in=part).values_list(
                "pk", "source_id"
            ):
                ids[source_id] = pk
        return ids


_WRITERS: dict[str, Any] = {"customer": _CustomerWriter, "order": _OrderWriter}
