"""Starting, running, serving and purging exports. Every export is audited (who, which list,
which filters, how many rows); masking follows the user's role exactly as on the list's page."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.accounts import policy
from kehu.exports.models import ExportFormat, ExportJob, ExportStatus
from kehu.exports.registry import ExportList, get_list
from kehu.exports.writers import write_csv, write_xlsx
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from django.http import HttpRequest

    from kehu.accounts.models import User

logger = logging.getLogger(__name__)

MAX_PARAMS_LENGTH = 2000


# --- settings (env-driven, overridable in Django settings for tests) --------------------------


def sync_limit() -> int:
    """Exports of at most this many rows download at once; larger ones run in the background."""
    return int(getattr(settings, "EXPORT_SYNC_LIMIT", os.environ.get("KEHU_EXPORT_SYNC_LIMIT") or 5000))


def time_to_live() -> dt.timedelta:
    hours = float(getattr(settings, "EXPORT_TTL_HOURS", os.environ.get("KEHU_EXPORT_TTL_HOURS") or 24))
    return dt.timedelta(hours=hours)


def export_dir() -> Path:
    """Private folder for export files: under the data dir, never served as static or media."""
    path = Path(getattr(settings, "EXPORT_DIR", None) or Path(settings.VAR_DIR) / "exports")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


# --- starting ---------------------------------------------------------------------------------


@dataclass
class ExportRequest:
    """A checked request to export a list: what, for whom, and whether it is small enough to
    download at once."""

    user: User
    export_list: ExportList
    params: QueryDict
    format: str
    unmasked: bool
    rows_total: int
    filters: dict[str, Any]

    @property
    def immediate(self) -> bool:
        return self.rows_total <= sync_limit()

    def queryset(self) -> QuerySet[Any]:
        return self.export_list.queryset(self.user, self.params)

    def file_name(self) -> str:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"{self.export_list.key}-{stamp}.{self.format}"


def parse_params(query: str) -> QueryDict:
    """The list page's filters as sent with the export button (a query string); paging and
    unknown fields are ignored by the list's own form."""
    params = QueryDict(query[:MAX_PARAMS_LENGTH], mutable=True)
    params.pop("cursor", None)
    params.pop("format", None)
    params.pop("unmasked", None)
    return params


def check_export(user: User, list_key: str, params: QueryDict, fmt: str, *, unmasked: bool = False) -> ExportRequest:
    """Validate an export request: the list exists (404), the user may export it (403), the
    format is known, and unmasked data only for roles that may unmask (403)."""
    export_list = get_list(list_key)
    policy.check(user, policy.EXPORT)
    policy.check(user, export_list.capability)
    if fmt not in ExportFormat.values:
        raise ValidationError(_("Unknown export format."), code="format")
    if unmasked and not (export_list.has_personal_data and policy.can(user, policy.UNMASK)):
        raise PermissionDenied(policy.UNMASK)
    qs = export_list.queryset(user, params)
    return ExportRequest(
        user=user,
        export_list=export_list,
        params=params,
        format=fmt,
        unmasked=unmasked,
        rows_total=qs.count(),
        filters=export_list.describe_filters(user, params),
    )


def do_audit_export(
    request_: ExportRequest, rows: int, *, job: ExportJob | None = None, http_request: HttpRequest | None = None
) -> None:
    after = {
        "list": request_.export_list.key,
        "format": request_.format,
        "filters": request_.filters,
        "rows": rows,
        "unmasked": request_.unmasked,
    }
    if job is not None:
        after["job"] = job.pk
    after = json.loads(json.dumps(after, cls=DjangoJSONEncoder))  # filters may hold dates or decimals
    do_audit(
        request_.user,
        AuditAction.EXPORT,
        request_.export_list.key,
        job.pk if job else "",
        after=after,
        request=http_request,
    )
    if request_.unmasked:
        do_audit(
            request_.user,
            AuditAction.UNMASK,
            request_.export_list.key,
            job.pk if job else "",
            after=after,
            request=http_request,
        )


def do_write(request_: ExportRequest, handle: Any, progress: Any = None) -> int:
    """Write the whole export to a binary file handle; returns the number of rows written."""
    rows = request_.export_list.rows(request_.queryset(), unmasked=request_.unmasked)
    headers = request_.export_list.headers()
    if request_.format == ExportFormat.CSV:
        return write_csv(handle, headers, rows, progress=progress)
    return write_xlsx(handle, headers, rows, sheet_title=str(request_.export_list.title), progress=progress)


def do_create_job(request_: ExportRequest) -> ExportJob:
    """Queue a background export (the task is enqueued when the transaction commits)."""
    from kehu.exports.tasks import run_export_job

    job = ExportJob.objects.create(
        list_key=request_.export_list.key,
        params=dict(request_.params.lists()),
        format=request_.format,
        unmasked=request_.unmasked,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        rows_total=request_.rows_total,
        created_by=request_.user,
    )
    transaction.on_commit(lambda: run_export_job.enqueue(job.pk))
    return job


def _params_of(job: ExportJob) -> QueryDict:
    params = QueryDict(mutable=True)
    for key, values in (job.params or {}).items():
        params.setlist(key, [str(v) for v in values] if isinstance(values, list) else [str(values)])
    return params


def job_path(job: ExportJob) -> Path | None:
    return export_dir() / job.file_name if job.file_name else None


def do_run_export(job: ExportJob) -> ExportJob:
    """Write a queued job's file. The user's permissions are checked again now (they may have
    changed since the job was queued); the file appears under its final name only when complete."""
    job.status = ExportStatus.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    final_name = f"{job.pk}-{secrets.token_hex(12)}.{job.format}"
    partial = export_dir() / (final_name + ".part")
    try:
        with translation.override(job.language):
            request_ = check_export(job.created_by, job.list_key, _params_of(job), job.format, unmasked=job.unmasked)
            ExportJob.objects.filter(pk=job.pk).update(rows_total=request_.rows_total)
            job.rows_total = request_.rows_total

            def progress(n: int) -> None:
                ExportJob.objects.filter(pk=job.pk).update(rows_written=n)

            with partial.open("wb") as handle:
                written = do_write(request_, handle, progress)
        partial.chmod(0o600)
        partial.rename(export_dir() / final_name)
    except Exception as exc:  # the job records the failure; the worker keeps running
        partial.unlink(missing_ok=True)
        logger.exception("export job %s failed", job.pk)
        job.status = ExportStatus.FAILED
        job.message = str(
            _("You may no longer export this list.")
            if isinstance(exc, PermissionDenied)
            else _("The export failed; the server log has the details.")
        )
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        return job
    now = timezone.now()
    job.status = ExportStatus.SUCCEEDED
    job.rows_written = written
    job.file_name = final_name
    job.file_size = (export_dir() / final_name).stat().st_size
    job.finished_at = now
    job.expires_at = now + time_to_live()
    job.save()
    do_audit_export(request_, written, job=job)
    return job


def do_purge_expired_exports(now: dt.datetime | None = None) -> int:
    """Delete the files of exports past their expiry and mark them expired; returns how many."""
    now = now or timezone.now()
    purged = 0
    for job in ExportJob.objects.filter(status=ExportStatus.SUCCEEDED, expires_at__lte=now):
        path = job_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
        job.status = ExportStatus.EXPIRED
        job.save(update_fields=["status"])
        purged += 1
    # Jobs whose worker died: a job still queued or running after a day will never finish.
    ExportJob.objects.filter(
        status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING], created_at__lt=now - dt.timedelta(days=1)
    ).update(
        status=ExportStatus.FAILED, message=_("The export did not finish; export the list again."), finished_at=now
    )
    # Leftovers of jobs that died mid-write.
    stale = now - dt.timedelta(days=1)
    for path in export_dir().glob("*.part"):
        if dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC) < stale:
            path.unlink(missing_ok=True)
    return purged
