"""Reads for the import pages: the target columns an importer declares, automatic matching of a
file's headers, the cleansed preview of the first rows, the job history and error reports."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from kehu.imports.models import ImportedRecord, ImportJob, JobStatus, SavedMapping
from kehu.imports.registry import Field, Importer, MappedRow, RowError, get_importer, header_key, importer_kinds
from kehu.imports.uploads import Sample

REPORT_DISPLAY_LIMIT = 500


@dataclass(frozen=True)
class Target:
    """A column an import can fill: the importer's field name, its label, whether it is required."""

    name: str
    label: str
    required: bool


def import_kinds() -> list[str]:
    """Every registered importer kind, so kinds added by later apps appear in the form."""
    return importer_kinds()


def targets(importer: type[Importer]) -> list[Target]:
    """The importer's declared columns, in its order (with whatever columns extensions such as
    custom fields added). A field may carry a `label`; an extension's definitions may too
    (`custom_definitions`, each with `key` and `label`, named `….<key>`); otherwise the field
    name is shown."""
    fields: Sequence[Field] = importer.fields
    extra = {d.key: str(d.label) for d in getattr(importer, "custom_definitions", ())}

    def label(f: Field) -> str:
        own = getattr(f, "label", "")
        if own:
            return str(own)
        prefix, dot, key = f.name.rpartition(".")
        return extra.get(key, f.name) if dot and prefix else f.name

    return [Target(f.name, label(f), f.required) for f in fields]


def auto_match(header: Sequence[str], importer: type[Importer], saved: dict[str, str] | None = None) -> list[str]:
    """The target of each header cell ("" = ignore), as `registry.resolve_mapping` would choose
    it: a saved mapping's choice first, then a field's name or Chinese/English synonyms; a target
    is given to the first column that matches it only."""
    lookup: dict[str, str] = {}
    for f in importer.fields:
        for synonym in (f.name, *f.synonyms):
            lookup.setdefault(header_key(synonym), f.name)
    known = {f.name for f in importer.fields}
    chosen = {header_key(k): (v or "") for k, v in (saved or {}).items()}
    taken: set[str] = set()
    result: list[str] = []
    for text in header:
        key = header_key(text)
        target = chosen[key] if key in chosen else lookup.get(key, "")
        if not key or target not in known or target in taken:
            target = ""
        if target:
            taken.add(target)
        result.append(target)
    return result


def saved_mappings(kind: str) -> QuerySet[SavedMapping]:
    return SavedMapping.objects.filter(kind=kind).order_by("name")


# --- preview --------------------------------------------------------------------------------

# Where an importer's cleansed record keeps a field under another name (orders keep the buyer
# in `customer` and each line in `lines`; customers keep the street in `detail`).
_RECORD_NAMES = {
    "order_no": ("number",),
    "amount": ("total_amount",),
    "address": ("detail",),
    "line_amount": ("line_amount",),
    "product_name": ("line_name",),
    "sku": ("sku", "line_sku"),
    "quantity": ("line_quantity",),
    "unit_price": ("line_unit_price",),
    "line_no": ("line_line_no",),
}


@dataclass
class PreviewCell:
    target: str
    raw: str
    value: str
    changed: bool
    error: str = ""


@dataclass
class PreviewRow:
    number: int
    cells: list[PreviewCell]
    errors: list[RowError] = field(default_factory=list)
    # Errors about a column the preview does not show (e.g. "give a phone or email" when unmapped).
    other_errors: list[str] = field(default_factory=list)


def _display(value: Any) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else str(value)
    if isinstance(value, str | int | Decimal | dt.date):
        return str(value)
    return None


def _flatten(record: Any, position: int) -> dict[str, str]:
    """A cleansed record as field name → text; an order contributes its buyer's fields and the
    line at `position` (prefixed `line_`)."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    elif isinstance(record, dict):
        values = dict(record)
    else:
        return {}
    flat: dict[str, str] = {}
    nested_customer = values.pop("customer", None)
    lines = values.pop("lines", None)
    if nested_customer is not None:
        flat.update(_flatten(nested_customer, 0))
    if isinstance(lines, list) and position < len(lines):
        for name, value in _flatten(lines[position], 0).items():
            flat[f"line_{name}"] = value
    for name, value in values.items():
        text = _display(value)
        if text is not None:
            flat[name] = text
    return flat


def _group_rows(rows: list[MappedRow], group_field: str | None) -> list[list[MappedRow]]:
    if not group_field:
        return [[row] for row in rows]
    groups: list[list[MappedRow]] = []
    for row in rows:
        key = row.cells.get(group_field, "").strip()
        if groups and groups[-1][0].cells.get(group_field, "").strip() == key:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def preview(kind: str, source: str, sample: Sample, mapping: dict[str, str]) -> tuple[list[Target], list[PreviewRow]]:
    """The first rows as they would be imported: per mapped target the file's text and the
    cleansed value (phones in E.164, dates in ISO form …), with each row's errors. Nothing is
    written; the importer only validates."""
    importer_class = get_importer(kind)
    columns = [t for t in targets(importer_class) if t.name in set(mapping.values())]
    index = {target: sample.header.index(text) for text, target in mapping.items() if target and text in sample.header}
    header_of = {target: sample.header[i] for target, i in index.items()}
    importer = importer_class(source=source, job=ImportJob(kind=kind, source=source), columns=header_of)
    mapped = [
        MappedRow(number, {t: cells[i] if i < len(cells) else "" for t, i in index.items()})
        for number, cells in sample.rows
    ]
    result: list[PreviewRow] = []
    for group in _group_rows(mapped, importer_class.group_field):
        records, errors = importer.validate(group)
        by_row: dict[int, list[RowError]] = {}
        for error in errors:
            by_row.setdefault(error.row, []).append(error)
        good = [row for row in group if row.number not in by_row]
        # One record per good row, or (orders) one record for the whole group with a line per row.
        single = len(records) == 1 and len(good) > 1
        for position, row in enumerate(group):
            record = None
            if single:
                record = records[0]
            elif row in good and good.index(row) < len(records):
                record = records[good.index(row)]
            flat = _flatten(record, position) if record is not None else {}
            row_errors = by_row.get(row.number, [])
            errors_by_column: dict[str, list[str]] = {}
            for e in row_errors:
                errors_by_column.setdefault(e.column, []).append(e.message)
            cells = []
            for target in columns:
                raw = row.cells.get(target.name, "")
                value = next((flat[n] for n in (target.name, *_RECORD_NAMES.get(target.name, ())) if n in flat), raw)
                message = " ".join(errors_by_column.pop(header_of.get(target.name, target.name), []))
                cells.append(PreviewCell(target.name, raw, value, value.strip() != raw.strip(), message))
            other = [m for messages in errors_by_column.values() for m in messages]
            result.append(PreviewRow(row.number, cells, row_errors, other))
    return columns, result


# --- jobs -----------------------------------------------------------------------------------


def list_jobs() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by").defer("error_report", "mapping")


def access_job(job_id: int) -> ImportJob | None:
    job: ImportJob | None = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    return job


def file_label(job: ImportJob) -> str:
    return Path(job.file_name).name


def can_revert(job: ImportJob) -> bool:
    """A real run that wrote something and has not been reverted (dry runs and refused atomic
    runs wrote nothing)."""
    if job.dry_run or job.status not in (JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.FAILED):
        return False
    return bool(ImportedRecord.objects.filter(job=job).exists())


def is_finished(job: ImportJob) -> bool:
    return job.status not in (JobStatus.QUEUED, JobStatus.RUNNING)


def progress_percent(job: ImportJob) -> int:
    if is_finished(job):
        return 100
    if not job.rows_total:
        return 0
    return min(99, int(job.rows_processed * 100 / job.rows_total))


def report_rows(job: ImportJob, limit: int = REPORT_DISPLAY_LIMIT) -> tuple[list[list[str]], int]:
    """The first rows of the job's error report (row, column, code, message) and how many there are."""
    if not job.error_report:
        return [], 0
    reader = csv.reader(io.StringIO(job.error_report))
    next(reader, None)
    rows = list(reader)
    return rows[:limit], len(rows)
