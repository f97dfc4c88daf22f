"""Running imports: create a job, stream the file through an importer chunk by chunk, report
row errors, record what was created or changed, and revert a finished import.

Modes: `atomic` runs the whole file in one transaction and rolls everything back when any row
has an error (validation continues so the report lists every bad row); `skip` commits each chunk
with its share of the job's counts, so a killed import re-runs to the right state (every write is
keyed on a unique constraint). A dry run does the work of an atomic run and rolls it back, so
its counts are exact."""

from __future__ import annotations

import csv
import io
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.db import connections, transaction
from django.db.models import ProtectedError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.customers.bulk_upsert import Change
from kehu.imports import bulksql
from kehu.imports.columns import ColumnChunk
from kehu.imports.models import ImportedRecord, ImportJob, ImportMode, JobStatus, SavedMapping
from kehu.imports.readers import ColumnBatch, Row, UnusableInput, count_rows, open_table
from kehu.imports.registry import (
    CUSTOM_VALUES_PREFIX,
    ChunkResult,
    Importer,
    MappedRow,
    RowError,
    get_importer,
    resolve_mapping,
)
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from django.http import HttpRequest

    from kehu.accounts.models import User

logger = logging.getLogger(__name__)
DEFAULT_CHUNK_ROWS = 20_000
# Errors kept for the report; beyond this only the count grows (a file of garbage stays bounded).
REPORT_LIMIT = 100_000
REPORT_HEADER = ("row", "column", "code", "message")
Progress = Callable[[int], None]
Validated = tuple[int, Any, list[RowError]]  # a chunk's row count, records and errors
T = TypeVar("T")


class ImportRefused(Exception):
    """An atomic import found row errors and wrote nothing."""


class RevertRefused(Exception):
    """The import cannot be reverted (later data depends on what it created)."""


class _Rollback(Exception):
    pass


def check_create_job(
    actor: User | None,
    kind: str,
    path: Path,
    *,
    mode: str = ImportMode.SKIP,
    source: str = "import",
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportJob:
    """Validate the request (kind, mode, file, mapping against the file's header) and create a
    queued job. Raises UnusableInput with a one-line message."""
    importer = get_importer(kind)
    if mode not in ImportMode.values:
        raise UnusableInput(_("Unknown mode %(mode)s: use atomic or skip.") % {"mode": mode})
    source = source.strip()[:40]
    if not source:
        raise UnusableInput(_("Give the source system's name."))
    table = open_table(path)
    resolve_mapping(table.header, importer, mapping)
    return ImportJob.objects.create(
        kind=kind,
        file_name=str(path.resolve()),
        source=source,
        mode=mode,
        dry_run=dry_run,
        mapping=mapping or {},
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


def load_mapping(kind: str, name_or_path: str) -> dict[str, str]:
    """A mapping from a JSON file (`{"file column": "field"}`) or a saved mapping of that name."""
    import json

    path = Path(name_or_path)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UnusableInput(_("The mapping file is not valid JSON: %(error)s") % {"error": exc}) from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str | None) for k, v in data.items()
        ):
            raise UnusableInput(_("The mapping file must be a JSON object of column names to field names."))
        return {k: v or "" for k, v in data.items()}
    saved = SavedMapping.objects.filter(kind=kind, name=name_or_path).first()
    if saved is None:
        raise UnusableInput(_("No mapping file or saved mapping called %(name)s.") % {"name": name_or_path})
    return dict(saved.columns)


def do_save_mapping(actor: User | None, kind: str, name: str, columns: dict[str, str]) -> SavedMapping:
    saved, _created = SavedMapping.objects.update_or_create(
        kind=kind, name=name, defaults={"columns": columns, "created_by": actor}
    )
    return saved


def enqueue_import(job: ImportJob) -> None:
    """Run the job in a background worker once the transaction that created it commits."""
    from kehu.imports.tasks import run_import_job

    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))


def do_request_cancel(job: ImportJob) -> None:
    """Ask a running import to stop; it checks between chunks (committed chunks stay in skip mode)."""
    ImportJob.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(cancel_requested=True)


def _chunks(rows: Iterator[Row], size: int, group_index: int | None) -> Iterator[list[Row]]:
    """Chunks of about `size` rows; with a group column, rows sharing the last row's group value
    move on to the next chunk so a group (an order's lines) is never split."""
    buffer: list[Row] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) < size:
            continue
        if group_index is None:
            yield buffer
            buffer = []
            continue
        key = _cell(buffer[-1][1], group_index)
        cut = len(buffer) - 1
        while cut > 0 and _cell(buffer[cut - 1][1], group_index) == key:
            cut -= 1
        if cut == 0:
            continue  # one enormous group: keep reading
        yield buffer[:cut]
        buffer = buffer[cut:]
    if buffer:
        yield buffer


def _column_chunks(batches: Iterator[ColumnBatch], size: int, group_index: int | None) -> Iterator[ColumnBatch]:
    """`_chunks` for column batches: about `size` rows, never splitting a group."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    pending: list[ColumnBatch] = []
    count = 0

    def joined() -> ColumnBatch:
        if len(pending) == 1:
            return pending[0]
        width = len(pending[0].columns)
        return ColumnBatch(
            np.concatenate([b.numbers for b in pending]),
            [pa.concat_arrays([b.columns[i] for b in pending]) for i in range(width)],
        )

    for batch in batches:
        pending.append(batch)
        count += len(batch.numbers)
        while count >= size:
            chunk = joined()
            end = size
            if group_index is not None and group_index < len(chunk.columns):
                keys = pc.utf8_trim_whitespace(chunk.columns[group_index].slice(0, size))
                differs = np.flatnonzero(~pc.equal(keys, keys[size - 1]).to_numpy(zero_copy_only=False))
                if not len(differs):
                    # One enormous group: keep reading until it ends.
                    tail = pc.utf8_trim_whitespace(chunk.columns[group_index].slice(size))
                    other = np.flatnonzero(~pc.equal(tail, keys[size - 1]).to_numpy(zero_copy_only=False))
                    if not len(other):
                        pending, count = [chunk], len(chunk.numbers)
                        break
                    end = size + int(other[0])
                else:
                    end = int(differs[-1]) + 1
            yield ColumnBatch(chunk.numbers[:end], [c.slice(0, end) for c in chunk.columns])
            rest = ColumnBatch(chunk.numbers[end:], [c.slice(end) for c in chunk.columns])
            pending, count = ([rest], len(rest.numbers)) if len(rest.numbers) else ([], 0)
    if pending:
        yield joined()


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, each computed in a worker thread while the caller works on the one before (at
    most one finished item waits). The worker runs in the caller's language, closes any database
    connection it opened, and an exception it raises comes out of the caller's `next`. When
    the caller stops early (a cancel, an error) the worker stops after its current item."""
    handoff: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    language = translation.get_language()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            with translation.override(language):
                for item in items:
                    if not put((True, item)):
                        return
            put((False, None))
        except BaseException as exc:  # handed to the caller, which raises it
            put((False, exc))
        finally:
            connections.close_all()  # only this thread's, should validation have opened one

    worker = threading.Thread(target=work, name="kehu-import-validate", daemon=True)
    worker.start()
    try:
        while True:
            more, item = handoff.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


class _Run:
    def __init__(self, job: ImportJob, importer: Importer, mapping: dict[str, int], progress: Progress | None) -> None:
        self.job = job
        self.importer = importer
        self.mapping = list(mapping.items())
        self.progress = progress
        self.errors: list[RowError] = []
        self.error_count = 0
        self.cancelled = False

    def mapped(self, chunk: list[Row]) -> list[MappedRow]:
        mapping = self.mapping
        return [
            MappedRow(number, {name: cells[index] if index < len(cells) else "" for name, index in mapping})
            for number, cells in chunk
        ]

    def validate(self, chunk: list[Row] | ColumnBatch) -> tuple[Any, list[RowError]]:
        if not isinstance(chunk, ColumnBatch):
            return self.importer.validate(self.mapped(chunk))
        columns = ColumnChunk(chunk.numbers, {name: chunk.columns[index] for name, index in self.mapping})
        if self.importer.columnar:
            return self.importer.validate_columns(columns)
        values = {name: column.to_pylist() for name, column in columns.cells.items()}
        rows = [
            MappedRow(number, {name: cells[i] for name, cells in values.items()})
            for i, number in enumerate(chunk.numbers.tolist())
        ]
        return self.importer.validate(rows)

    def validated(self, chunks: Iterable[list[Row] | ColumnBatch]) -> Iterator[Validated]:
        """Each chunk's size, records and errors; read and validated one chunk ahead in a worker
        thread when the importer `validates_offline`, so the next chunk's parsing and checks
        run while this one is written (the database work is the larger half)."""
        steps = ((len(c.numbers) if isinstance(c, ColumnBatch) else len(c), *self.validate(c)) for c in chunks)
        return _ahead(steps) if self.importer.validates_offline else steps

    def step(self, validated: Validated, *, write: bool) -> None:
        size, records, errors = validated
        self.error_count += len({e.row for e in errors})
        self.errors.extend(errors[: max(0, REPORT_LIMIT - len(self.errors))])
        job = self.job
        if write and not (job.mode == ImportMode.ATOMIC and self.error_count):
            result = self.importer.write(records)
            if not job.dry_run:
                record_changes(job, result.changes)
            self.add(result)
        job.rows_processed += size
        job.errors = self.error_count
        ImportJob.objects.filter(pk=job.pk).update(
            rows_processed=job.rows_processed, created=job.created, updated=job.updated,
            unchanged=job.unchanged, errors=job.errors,
        )  # fmt: skip
        if self.progress:
            self.progress(size)
        if ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            self.cancelled = True

    def add(self, result: ChunkResult) -> None:
        self.job.created += result.created
        self.job.updated += result.updated
        self.job.unchanged += result.unchanged


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as inclusive [first, last] runs: ids drawn from a sequence are mostly one run."""
    runs: list[list[int]] = []
    for value in sorted(ids):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return runs


def expand_ranges(runs: Iterable[list[int]]) -> list[int]:
    return [value for first, last in runs for value in range(first, last + 1)]


def record_changes(job: ImportJob, changes: Iterable[Change]) -> None:
    """History rows: one per changed row (with its previous values), one per model and chunk
    for created rows (their ids as ranges), so a million new orders cost a handful of rows."""
    bulksql.copy_insert(
        ImportedRecord,
        ["job_id", "model", "object_id", "created", "previous"],
        [
            (job.pk, c.model, None, True, {"ids": id_ranges(c.ids)})
            if c.ids is not None
            else (job.pk, c.model, c.object_id, c.created, c.previous)
            for c in changes
            if c.ids is None or len(c.ids)
        ],
    )


def do_run_import(
    job: ImportJob, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Progress | None = None
) -> ImportJob:
    """Run a queued job to the end. Returns the job with status, counts and the error report.
    Raises UnusableInput (job marked failed) when the file cannot be read or mapped."""
    job.status = JobStatus.RUNNING
    job.started_at = timezone.now()
    job.rows_total = count_rows(Path(job.file_name))
    job.save(update_fields=["status", "started_at", "rows_total"])
    try:
        importer_class = get_importer(job.kind)
        table = open_table(Path(job.file_name), columns=True)
        mapping = resolve_mapping(table.header, importer_class, job.mapping)
    except UnusableInput as exc:
        _finish(job, JobStatus.FAILED, str(exc))
        raise
    columns = {name: table.header[index] for name, index in mapping.items()}
    importer = importer_class(source=job.source, job=job, columns=columns)
    run = _Run(job, importer, mapping, progress)
    group_index = mapping.get(importer_class.group_field) if importer_class.group_field else None
    chunks: Iterator[list[Row]] | Iterator[ColumnBatch] = (
        _column_chunks(table.batches, chunk_rows, group_index)
        if table.batches is not None
        else _chunks(table.rows, chunk_rows, group_index)
    )
    with bulksql.wal_checkpoints_deferred():
        try:
            if job.mode == ImportMode.ATOMIC or job.dry_run:
                try:
                    with transaction.atomic():
                        bulksql.relax_commit_durability()
                        for validated in run.validated(chunks):
                            run.step(validated, write=True)
                            if run.cancelled:
                                break
                        if (run.error_count and job.mode == ImportMode.ATOMIC) or job.dry_run or run.cancelled:
                            raise _Rollback
                        importer.finish()
                except _Rollback:
                    pass
                if job.mode == ImportMode.ATOMIC and (run.error_count or run.cancelled) and not job.dry_run:
                    job.created = job.updated = job.unchanged = 0
            else:
                try:
                    for validated in run.validated(chunks):
                        with transaction.atomic():
                            bulksql.relax_commit_durability()
                            run.step(validated, write=True)
                        if run.cancelled:
                            break
                except Exception:
                    # Committed chunks stay, so their deferred work runs even when a chunk failed.
                    try:
                        _finish_importer(importer)
                    except Exception:
                        logger.exception("import job %s: end-of-import work failed after an error", job.pk)
                    raise
                _finish_importer(importer)
        except Exception as exc:
            logger.exception("import job %s failed", job.pk)
            job.errors = run.error_count
            job.error_report = error_report_csv(run.errors)
            _finish(job, JobStatus.FAILED, _("The import stopped: %(error)s") % {"error": exc})
            raise
    job.errors = run.error_count
    job.error_report = error_report_csv(run.errors)
    if run.cancelled:
        status, message = JobStatus.CANCELLED, _("Cancelled.")
    elif job.mode == ImportMode.ATOMIC and run.error_count and not job.dry_run:
        status, message = (
            JobStatus.FAILED,
            _("Nothing was imported: %(count)s rows have errors.") % {"count": run.error_count},
        )
    else:
        status, message = JobStatus.SUCCEEDED, _("Dry run: nothing was written.") if job.dry_run else ""
    _finish(job, status, message)
    if status == JobStatus.SUCCEEDED and not job.dry_run:
        do_audit(job.created_by, AuditAction.CREATE, "import_job", job.pk, after=job.summary(), via="import")
    if status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED) and not job.dry_run and (job.created or job.updated):
        from kehu.imports.signals import import_finished

        import_finished.send(sender=ImportJob, job=job)
    return job


def _finish_importer(importer: Importer) -> None:
    """The importer's end-of-run work (`Importer.finish`) for skip mode, in its own transaction."""
    with transaction.atomic():
        bulksql.relax_commit_durability()
        importer.finish()


def _finish(job: ImportJob, status: str, message: str) -> None:
    job.status = status
    job.message = message[:500]
    job.finished_at = timezone.now()
    job.save()


def _excel_safe(value: object) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def error_report_csv(errors: list[RowError]) -> str:
    """The report as CSV text: row (header = 1), column (the file's header), code, message.
    Cells that a spreadsheet would run as a formula get a leading apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_HEADER)
    for e in sorted(errors, key=lambda e: e.row):
        writer.writerow([e.row, _excel_safe(e.column), e.code, _excel_safe(e.message)])
    return buffer.getvalue()


# --- Revert ---------------------------------------------------------------------------------


def _typed(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {name: model._meta.get_field(name).to_python(value) for name, value in values.items()}


def _merged_away(customer_ids: set[int]) -> list[int]:
    """Those of these customers that a standing merge absorbed into another record: reverting
    their import now would act on the survivor (kehu.identity, when installed)."""
    if not customer_ids or not apps.is_installed("kehu.identity"):
        return []
    MergeRecord = apps.get_model("identity", "MergeRecord")
    found: set[int] = set()
    for part in bulksql.batched(sorted(customer_ids), bulksql.IN_BATCH):
        found.update(
            MergeRecord.objects.filter(absorbed_id__in=part, undone_at__isnull=True).values_list(
                "absorbed_id", flat=True
            )
        )
    return sorted(found)


@transaction.atomic
def revert_import(job: ImportJob, actor: User | None = None) -> None:
    """Undo an import: delete what it created, restore what it changed to the recorded previous
    values, refresh the purchase figures of the customers involved. Raises RevertRefused if later
    data (e.g. orders from another import) depends on a customer this import created."""
    from kehu.commerce.bulk_ingest import LINE_FIELDS, refresh_purchase_stats
    from kehu.commerce.models import Order, OrderLine
    from kehu.customers.actions import do_index_names
    from kehu.customers.models import Customer, CustomerIdentity

    if job.status == JobStatus.REVERTED:
        return
    created: dict[str, list[int]] = {}
    updated: dict[str, dict[int, dict[str, Any]]] = {}
    identities: list[dict[str, Any]] = []
    # Custom-field values the import changed ("custom:<model>"): the earliest record per row is
    # the value before the import (kehu.customfields).
    custom_values: dict[str, dict[int, dict[str, Any]]] = {}
    for model, object_id, was_created, previous in (
        ImportedRecord.objects.filter(job=job)
        .order_by("pk")
        .values_list("model", "object_id", "created", "previous")
        .iterator(chunk_size=10_000)
    ):
        if model == "customers.customeridentity":
            identities.append(previous)
        elif model.startswith(CUSTOM_VALUES_PREFIX):
            custom_values.setdefault(model.removeprefix(CUSTOM_VALUES_PREFIX), {}).setdefault(
                object_id, previous["custom"]
            )
        elif was_created and object_id is None:
            created.setdefault(model, []).extend(expand_ranges(previous["ids"]))
        elif was_created:
            created.setdefault(model, []).append(object_id)
        else:
            updated.setdefault(model, {})[object_id] = previous
    order_ids = created.get("commerce.order", []) + list(updated.get("commerce.order", {}))
    customers = set(Order.objects.filter(pk__in=order_ids).values_list("customer_id", flat=True).distinct())

    touched = {*created.get("customers.customer", []), *updated.get("customers.customer", {})}
    touched.update(identity["customer"] for identity in identities)
    merged_away = _merged_away(touched)
    if merged_away:
        raise RevertRefused(
            _(
                "Cannot revert: customers this import wrote were merged into other records since "
                "(ids %(ids)s). Undo those merges first."
            )
            % {"ids": ", ".join(str(pk) for pk in merged_away[:20])}
        )

    # Orders first: they protect their customers.
    new_orders = created.get("commerce.order", [])
    for part in bulksql.batched(new_orders, bulksql.IN_BATCH):
        OrderLine.objects.filter(order_id__in=part).delete()
        Order.objects.filter(pk__in=part).delete()
    changed_orders = updated.get("commerce.order", {})
    header = [k for k in next(iter(changed_orders.values()), {}) if k != "lines"]
    bulksql.update_by_id(
        Order,
        header,
        [(pk, *_typed(Order, {k: prev[k] for k in header}).values()) for pk, prev in changed_orders.items()],
    )
    bulksql.delete_in(OrderLine, "order_id", list(changed_orders))
    bulksql.copy_insert(
        OrderLine,
        ["order_id", *LINE_FIELDS],
        [(pk, *_typed(OrderLine, dict(zip(LINE_FIELDS, line, strict=True))).values())
         for pk, prev in changed_orders.items() for line in prev["lines"]],
    )  # fmt: skip
    customers.update(Order.objects.filter(pk__in=list(changed_orders)).values_list("customer_id", flat=True))

    for identity in identities:
        CustomerIdentity.objects.filter(
            customer_id=identity["customer"], kind=identity["kind"], value=identity["value"]
        ).delete()
    new_customers = created.get("customers.customer", [])
    customers.difference_update(new_customers)
    try:
        for model_label in ("customers.address", "customers.customer", "commerce.product", "commerce.store"):
            model = apps.get_model(model_label)
            for part in bulksql.batched(created.get(model_label, []), bulksql.IN_BATCH):
                model.objects.filter(pk__in=part).delete()
    except ProtectedError as exc:
        raise RevertRefused(
            _("Cannot revert: later records depend on rows this import created (%(error)s).") % {"error": exc.args[0]}
        ) from exc
    for model_label, values in custom_values.items():
        # Rows this import created were deleted above; the update skips them.
        bulksql.update_by_id(apps.get_model(model_label), ["custom"], list(values.items()))
    for model_label, changed in updated.items():
        if model_label == "commerce.order" or not changed:
            continue
        model = apps.get_model(model_label)
        fields = [f for f in next(iter(changed.values())) if f != "id"]
        bulksql.update_by_id(
            model, fields, [(pk, *_typed(model, {f: prev[f] for f in fields}).values()) for pk, prev in changed.items()]
        )
    restored = list(updated.get("customers.customer", {}))
    do_index_names(Customer.objects.filter(pk__in=restored))
    refresh_purchase_stats({c for c in customers if c is not None})
    job.status = JobStatus.REVERTED
    job.save(update_fields=["status"])
    do_audit(actor, AuditAction.DELETE, "import_job", job.pk, before=job.summary(), via="import")


# --- Starting, cancelling and reverting from the web pages -----------------------------------


def check_start_import(
    actor: User,
    kind: str,
    path: Path,
    *,
    mode: str,
    source: str,
    mapping: dict[str, str],
    dry_run: bool,
    request: HttpRequest | None = None,
) -> ImportJob:
    """Create a job for an uploaded file and queue it for a background worker (after commit).
    A real run is audited when it starts (who, from where, which file); the engine audits its
    outcome. Raises UnusableInput when the file or the mapping no longer fits."""
    with transaction.atomic():
        job = check_create_job(actor, kind, path, mode=mode, source=source, mapping=mapping, dry_run=dry_run)
        if not dry_run:
            do_audit(
                actor,
                AuditAction.CREATE,
                "import_job",
                job.pk,
                after={"kind": kind, "file": path.name, "mode": mode, "source": job.source, "status": "queued"},
                request=request,
                via="web",
            )
        enqueue_import(job)
    return job


def check_revert_import(actor: User, job: ImportJob) -> None:
    """Revert a finished real run that wrote something; RevertRefused otherwise."""
    from kehu.imports.queries import can_revert

    with transaction.atomic():
        # Locked so two people pressing Revert at once cannot both revert.
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if not can_revert(locked):
            raise RevertRefused(
                _("This import cannot be reverted: it wrote nothing, is still running or was reverted already.")
            )
        revert_import(locked, actor)
    job.refresh_from_db()
