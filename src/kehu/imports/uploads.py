"""Files uploaded for import in the browser: kept under the private `var/imports/uploads` folder
(never under static or media, which are served), with a sanitised name, and checked to be a
readable CSV or XLSX before anyone maps its columns."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.imports.readers import UnusableInput, open_table

ALLOWED_SUFFIXES = (".csv", ".xlsx")
SAMPLE_ROWS = 20
_UNSAFE = re.compile(r"[^\w.\-()（）\u4e00-\u9fff]+")


def upload_root() -> Path:
    return Path(getattr(settings, "IMPORT_UPLOAD_DIR", settings.VAR_DIR / "imports" / "uploads"))


def max_upload_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))


def safe_file_name(name: str) -> str:
    """The uploaded name without any directory part, with only letters, digits, CJK, dots,
    dashes and brackets, at most 100 characters, keeping its suffix."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._") or "upload"
    suffix = _UNSAFE.sub("", suffix).lower()
    return f"{stem[:90]}.{suffix}" if suffix else stem[:90]


@dataclass
class Sample:
    """The file's header and its first data rows (as text), to map columns and preview."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_sample(path: Path, limit: int = SAMPLE_ROWS) -> Sample:
    """Header and first rows; raises UnusableInput with a one-line message for unusable files."""
    table = open_table(path)
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in table.rows:
            rows.append((number, cells))
            if len(rows) >= limit:
                break
    except UnicodeDecodeError as exc:  # detected as one encoding, damaged further on
        raise UnusableInput(_("The file's text encoding is damaged: %(error)s") % {"error": exc}) from exc
    finally:
        close = getattr(table.rows, "close", None)
        if close:
            close()
    if not any(cell.strip() for cell in table.header):
        raise UnusableInput(_("The file has no header row."))
    return Sample(table.header, rows)


def check_store_upload(uploaded: UploadedFile) -> tuple[Path, Sample]:
    """Store an uploaded import file privately and read its header. Raises UnusableInput (and
    removes the stored copy) when the file is too big, of the wrong type, empty or unreadable."""
    name = safe_file_name(uploaded.name or "")
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UnusableInput(_("Choose a .csv or .xlsx file."))
    limit = max_upload_bytes()
    if uploaded.size is not None and uploaded.size > limit:
        raise UnusableInput(
            _("The file is %(size)s; the limit is %(limit)s. Split it, or import it with the kehu import command.")
            % {"size": filesizeformat(uploaded.size), "limit": filesizeformat(limit)}
        )
    if not uploaded.size:
        raise UnusableInput(_("The file is empty."))
    folder = upload_root() / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    path = folder / name
    with path.open("wb") as handle:
        for chunk in uploaded.chunks():
            handle.write(chunk)
    path.chmod(0o600)
    try:
        sample = read_sample(path)
    except UnusableInput:
        discard_upload(path)
        raise
    except Exception as exc:  # a reader library failing on a damaged file must not become a 500
        discard_upload(path)
        raise UnusableInput(_("%(file)s cannot be read: %(error)s") % {"file": name, "error": exc}) from exc
    return path, sample


def _inside_root(path: Path) -> bool:
    try:
        path.resolve().relative_to(upload_root().resolve())
    except ValueError:
        return False
    return True


def is_stored_upload(path: Path) -> bool:
    """Whether a path is a file inside the upload folder (paths come back from the session)."""
    return _inside_root(path) and path.is_file()


def discard_upload(path: Path) -> None:
    """Remove a stored upload and its folder; paths outside the upload folder are left alone."""
    if not _inside_root(path):
        return
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: leave it
        path.parent.rmdir()


def upload_ttl() -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, "IMPORT_UPLOAD_TTL_HOURS", 7 * 24)))


def do_purge_old_uploads(now: dt.datetime | None = None) -> int:
    """Delete uploaded files older than the retention time (`KEHU_IMPORT_UPLOAD_TTL_HOURS`,
    a week by default) unless a queued or running import still reads them. Finished imports
    keep their counts, error report and history (revert needs no file). Returns how many."""
    from kehu.imports.models import ImportJob, JobStatus

    root = upload_root()
    if not root.is_dir():
        return 0
    cutoff = (now or timezone.now()) - upload_ttl()
    in_use = {
        str(Path(name).resolve())
        for name in ImportJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list(
            "file_name", flat=True
        )
    }
    purged = 0
    for path in root.glob("*/*"):
        if not path.is_file() or str(path.resolve()) in in_use:
            continue
        if dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC) < cutoff:
            discard_upload(path)
            purged += 1
    return purged
