"""Export pages: start an export from a list page (small ones download at once, large ones become
a background job), watch a job's progress, download its file, and list "My exports"."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kehu.accounts import policy
from kehu.commerce.forms import OrderFilterForm
from kehu.exports.actions import check_export, do_audit_export, do_create_job, do_write, job_path, parse_params
from kehu.exports.models import ExportFormat, ExportStatus
from kehu.exports.queries import access_export_job, my_exports
from kehu.exports.registry import get_list
from kehu.exports.writers import csv_lines

if TYPE_CHECKING:
    from kehu.accounts.models import User

CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@require_POST
def start_export(request: HttpRequest, list_key: str) -> HttpResponse:
    """The Export buttons post here with the list page's query string in `query`."""
    user = _user(request)
    export_list = get_list(list_key)
    # List pages send their query string in `query`; the order form on "My exports" posts its fields.
    if "query" in request.POST:
        params = parse_params(request.POST["query"])
    else:
        posted = request.POST.copy()
        posted.pop("csrfmiddlewaretoken", None)
        params = parse_params(posted.urlencode())
    fmt = request.POST.get("format", "")
    try:
        export = check_export(user, list_key, params, fmt, unmasked=request.POST.get("unmasked") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("exports:mine")
    if not export.immediate:
        job = do_create_job(export)
        messages.info(
            request,
            _("%(n)s rows are being exported in the background; the file will be ready here shortly.")
            % {"n": f"{export.rows_total:,}"},
        )
        return redirect("exports:job", job_id=job.pk)
    do_audit_export(export, export.rows_total, http_request=request)
    headers = {"Content-Disposition": f'attachment; filename="{export.file_name()}"'}
    if fmt == ExportFormat.CSV:
        rows = export_list.rows(export.queryset(), unmasked=export.unmasked)
        return StreamingHttpResponse(
            (line.encode("utf-8") for line in csv_lines(export_list.headers(), rows)),
            content_type=CONTENT_TYPES[ExportFormat.CSV],
            headers=headers,
        )
    # Write-only XLSX needs a seekable file: spool to a temporary file, then stream it.
    # FileResponse closes (and so deletes) the file when the response is done.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    do_write(export, handle)
    handle.seek(0)
    return FileResponse(handle, content_type=CONTENT_TYPES[ExportFormat.XLSX], headers=headers)


@login_required
@require_GET
def my_export_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    jobs = list(my_exports(user)[:100])
    for job in jobs:
        job.title = get_list(job.list_key).title if _known(job.list_key) else job.list_key  # type: ignore[attr-defined]
    return render(
        request,
        "exports/mine.html",
        {
            "nav_section": "exports",
            "jobs": jobs,
            "order_form": OrderFilterForm(user) if policy.can(user, policy.VIEW_ORDERS) else None,
            "can_unmask": policy.can(user, policy.UNMASK),
        },
    )


def _known(key: str) -> bool:
    try:
        get_list(key)
    except Http404:
        return False
    return True


@login_required
@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_export_job(_user(request), job_id)
    title = get_list(job.list_key).title if _known(job.list_key) else job.list_key
    return render(request, "exports/job.html", {"nav_section": "exports", "job": job, "title": title})


@login_required
@require_GET
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress card, polled by HTMX every two seconds while the job runs."""
    job = access_export_job(_user(request), job_id)
    return render(request, "exports/_job_card.html", {"job": job})


@login_required
@require_GET
def job_download(request: HttpRequest, job_id: int) -> HttpResponse:
    """The file of a finished job, to its creator (or an admin) only, until it expires."""
    job = access_export_job(_user(request), job_id)
    path = job_path(job)
    expired = job.expires_at is not None and job.expires_at <= timezone.now()
    if job.status == ExportStatus.EXPIRED or (
        job.status == ExportStatus.SUCCEEDED and (expired or not (path and path.exists()))
    ):
        return render(request, "exports/job.html", {"nav_section": "exports", "job": job, "gone": True}, status=410)
    if job.status != ExportStatus.SUCCEEDED or path is None:
        raise Http404(_("This export is not ready."))
    stamp = job.created_at.strftime("%Y%m%d-%H%M")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{job.list_key}-{stamp}.{job.format}",
        content_type=CONTENT_TYPES.get(job.format, "application/octet-stream"),
    )
