"""Import pages: upload a file, map its columns, preview the cleansed rows, dry-run or run it as a
background job with a live progress bar, and the history of imports with revert.

The upload in progress (kind, source, mode, stored path, mapping) lives in the uploader's
session under a random token, so a path never comes from the browser."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.accounts import policy
from kehu.imports import queries
from kehu.imports.actions import (
    RevertRefused,
    check_revert_import,
    check_start_import,
    do_request_cancel,
    do_save_mapping,
)
from kehu.imports.forms import MappingForm, UploadForm, kind_label, target_label
from kehu.imports.models import ImportJob, ImportMode, SavedMapping
from kehu.imports.readers import UnusableInput
from kehu.imports.registry import get_importer
from kehu.imports.uploads import Sample, check_store_upload, is_stored_upload, max_upload_bytes, read_sample

if TYPE_CHECKING:
    from kehu.accounts.models import User

SESSION_KEY = "import_uploads"
KEPT_UPLOADS = 10
JOBS_PER_PAGE = 25
NOT_REVERTIBLE = gettext_lazy(
    "This import cannot be reverted: it wrote nothing, is still running or was reverted already."
)

View = Callable[..., HttpResponse]


def import_page(view: View) -> View:
    """Every import page: logged in, allowed to import, and not a store manager (imports are
    not scoped to stores)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = _user(request)
        policy.check(user, policy.IMPORT_DATA)
        if policy.is_store_scoped(user):
            raise PermissionDenied(policy.IMPORT_DATA)
        return view(request, *args, **kwargs)

    return wrapped


def _user(request: HttpRequest) -> User:
    user: User = request.user
    return user


def _uploads(request: HttpRequest) -> dict[str, dict[str, Any]]:
    return dict(request.session.get(SESSION_KEY, {}))


def _upload(request: HttpRequest, token: str) -> dict[str, Any]:
    state = _uploads(request).get(token)
    if state is None or not is_stored_upload(Path(state["path"])):
        raise Http404
    return state


def _keep_upload(request: HttpRequest, token: str, state: dict[str, Any]) -> None:
    uploads = _uploads(request)
    uploads[token] = state
    request.session[SESSION_KEY] = dict(list(uploads.items())[-KEPT_UPLOADS:])


def _context(**values: Any) -> dict[str, Any]:
    return {"nav_section": "imports", **values}


# --- 1. upload ------------------------------------------------------------------------------


@import_page
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            path, _sample = check_store_upload(form.cleaned_data["file"])
        except UnusableInput as exc:
            form.add_error("file", str(exc))
        else:
            token = secrets.token_urlsafe(12)
            state = {
                "kind": form.cleaned_data["kind"],
                "source": form.cleaned_data["source"],
                "mode": form.cleaned_data["mode"],
                "path": str(path),
                "name": path.name,
                "mapping": None,
            }
            _keep_upload(request, token, state)
            return redirect("imports-map", token=token)
    context = _context(form=form, step=1, max_bytes=max_upload_bytes())
    return render(request, "imports/upload.html", context, status=400 if form.errors else 200)


# --- 2. mapping -----------------------------------------------------------------------------


def _sample_or_message(request: HttpRequest, state: dict[str, Any]) -> Sample | None:
    try:
        return read_sample(Path(state["path"]))
    except UnusableInput as exc:
        messages.error(request, str(exc))
        return None


@import_page
@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, token: str) -> HttpResponse:
    state = _upload(request, token)
    sample = _sample_or_message(request, state)
    if sample is None:
        return redirect("imports-upload")
    importer = get_importer(state["kind"])
    targets = queries.targets(importer)
    saved_list = list(queries.saved_mappings(state["kind"]))
    loaded: SavedMapping | None = None
    if request.method == "GET" and request.GET.get("saved", "").isdigit():
        loaded = next((s for s in saved_list if s.pk == int(request.GET["saved"])), None)
    chosen = queries.auto_match(sample.header, importer, loaded.columns if loaded else state["mapping"])
    form = MappingForm(
        sample.header,
        targets,
        request.POST or None,
        initial={f"column_{i}": target for i, target in enumerate(chosen)},
    )
    if request.method == "POST" and form.is_valid():
        state["mapping"] = form.cleaned_data["mapping"]
        _keep_upload(request, token, state)
        name = form.cleaned_data["save_as"].strip()
        if name:
            do_save_mapping(_user(request), state["kind"], name, state["mapping"])
            messages.success(request, _("Mapping saved as “%(name)s”.") % {"name": name})
        return redirect("imports-preview", token=token)
    current = [form.data.get(f"column_{i}", "") for i in range(len(sample.header))] if form.is_bound else chosen
    mapped = {target for target in current if target}
    columns = [
        {
            "index": index,
            "header": text,
            "field": bound,
            "samples": [cells[index] for _n, cells in sample.rows[:3] if index < len(cells) and cells[index].strip()],
            "auto": chosen[index],
        }
        for index, text, bound in form.column_fields()
    ]
    required = [{"label": target_label(t), "name": t.name, "mapped": t.name in mapped} for t in targets if t.required]
    return render(
        request,
        "imports/mapping.html",
        _context(
            form=form, step=2, token=token, state=state, kind_label=kind_label(state["kind"]), columns=columns,
            required=required, saved_list=saved_list, loaded=loaded,
        ),
        status=400 if form.is_bound and form.errors else 200,
    )  # fmt: skip


# --- 3. preview, then dry run or run --------------------------------------------------------


@import_page
@require_GET
def preview(request: HttpRequest, token: str) -> HttpResponse:
    state = _upload(request, token)
    if state["mapping"] is None:
        return redirect("imports-map", token=token)
    sample = _sample_or_message(request, state)
    if sample is None:
        return redirect("imports-upload")
    columns, rows = queries.preview(state["kind"], state["source"], sample, state["mapping"])
    return render(
        request,
        "imports/preview.html",
        _context(
            step=3, token=token, state=state, kind_label=kind_label(state["kind"]),
            columns=[(c, target_label(c)) for c in columns], rows=rows,
            error_rows=sum(1 for r in rows if r.errors), mode_label=ImportMode(state["mode"]).label,
        ),
    )  # fmt: skip


@import_page
@require_POST
def start(request: HttpRequest, token: str) -> HttpResponse:
    state = _upload(request, token)
    if state["mapping"] is None:
        return redirect("imports-map", token=token)
    dry_run = request.POST.get("dry_run") == "1"
    try:
        job = check_start_import(
            _user(request), state["kind"], Path(state["path"]), mode=state["mode"], source=state["source"],
            mapping=state["mapping"], dry_run=dry_run, request=request,
        )  # fmt: skip
    except UnusableInput as exc:
        messages.error(request, str(exc))
        return redirect("imports-map", token=token)
    return redirect("imports-job", job_id=job.pk)


# --- 4/5. jobs: progress, report, cancel, run after a dry run --------------------------------


def _job(job_id: int) -> ImportJob:
    job = queries.access_job(job_id)
    if job is None:
        raise Http404
    return job


def _job_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "file_label": queries.file_label(job),
        "kind_label": kind_label(job.kind),
        "finished": queries.is_finished(job),
        "percent": queries.progress_percent(job),
    }


@import_page
@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(job_id)
    report, report_count = queries.report_rows(job)
    return render(
        request,
        "imports/job.html",
        _context(
            **_job_context(job), step=4 if job.dry_run else 5, report=report, report_count=report_count,
            report_limit=queries.REPORT_DISPLAY_LIMIT, can_revert=queries.can_revert(job),
            can_run=job.dry_run and queries.is_finished(job) and is_stored_upload(Path(job.file_name)),
        ),
    )  # fmt: skip


@import_page
@require_GET
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(job_id)
    response = render(request, "imports/_progress.html", _job_context(job))
    if queries.is_finished(job):
        response["HX-Refresh"] = "true"
    return response


@import_page
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(job_id)
    do_request_cancel(job)
    if request.headers.get("HX-Request") == "true":
        job.refresh_from_db()
        return render(request, "imports/_progress.html", _job_context(job))
    messages.info(request, _("Cancelling: the import stops after the rows it is working on."))
    return redirect("imports-job", job_id=job.pk)


@import_page
@require_POST
def job_run(request: HttpRequest, job_id: int) -> HttpResponse:
    """Run for real what a dry run checked: same file, mapping, mode and source."""
    dry = _job(job_id)
    if not dry.dry_run or not queries.is_finished(dry) or not is_stored_upload(Path(dry.file_name)):
        messages.error(request, _("Only a finished dry run of a file still on the server can be run."))
        return redirect("imports-job", job_id=dry.pk)
    try:
        job = check_start_import(
            _user(request), dry.kind, Path(dry.file_name), mode=dry.mode, source=dry.source, mapping=dry.mapping,
            dry_run=False, request=request,
        )  # fmt: skip
    except UnusableInput as exc:
        messages.error(request, str(exc))
        return redirect("imports-job", job_id=dry.pk)
    return redirect("imports-job", job_id=job.pk)


@import_page
@require_GET
def job_report(request: HttpRequest, job_id: int) -> HttpResponse:
    """The error report as CSV, UTF-8 with BOM so Excel opens it; cells are formula-safe."""
    job = _job(job_id)
    text = job.error_report or "row,column,code,message\n"
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response


# --- 6. history and revert ------------------------------------------------------------------


@import_page
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    page = Paginator(queries.list_jobs(), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"job": job, "file_label": queries.file_label(job), "kind_label": kind_label(job.kind)} for job in page]
    return render(request, "imports/history.html", _context(page=page, rows=rows))


@import_page
@require_http_methods(["GET", "POST"])
def job_revert(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(job_id)
    if request.method == "POST":
        try:
            check_revert_import(_user(request), job)
        except RevertRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The import was reverted."))
        return redirect("imports-job", job_id=job.pk)
    if not queries.can_revert(job):
        messages.error(request, str(NOT_REVERTIBLE))
        return redirect("imports-job", job_id=job.pk)
    return render(request, "imports/revert.html", _context(**_job_context(job)))
