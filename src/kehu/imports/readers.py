"""Readers turning an uploaded file into a header and chunks of (row number, cells) with cells
as text. CSV in UTF-8 (with or without BOM) or GBK/GB18030 as Chinese Excel saves it; XLSX via
calamine (Rust; no XML entity expansion, no formula evaluation). Row numbers are the file's own,
header = row 1, so a report points at the row a person sees in Excel."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

# A spreadsheet whose parts unpack to more than this is refused before parsing (zip bomb guard).
MAX_XLSX_UNPACKED_BYTES = 2 * 1024**3
ENCODINGS = ("utf-8-sig", "gb18030")
Row = tuple[int, list[str]]


class UnusableInput(Exception):
    """The file cannot be imported at all (missing, unknown format, unreadable encoding)."""


@dataclass
class Table:
    """A file opened for import: its header cells and an iterator over its data rows."""

    header: list[str]
    rows: Iterator[Row]
    encoding: str = ""


def detect_encoding(path: Path) -> str:
    """UTF-8 (BOM or not) if the whole file decodes strictly as UTF-8, else GB18030 (a superset
    of GBK, what Chinese Excel writes for "CSV"). Decoding is incremental, so memory stays flat."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UnusableInput(_("%(file)s is neither UTF-8 nor GBK/GB18030 text.") % {"file": path.name})


def _nonblank(rows: Iterator[Row]) -> Iterator[Row]:
    for number, cells in rows:
        if any(cell.strip() for cell in cells):
            yield number, cells


def _split_header(rows: Iterator[Row]) -> tuple[list[str], Iterator[Row]]:
    rows = _nonblank(rows)
    first = next(rows, None)
    if first is None:
        raise UnusableInput(_("The file has no header row."))
    return [cell.strip() for cell in first[1]], rows


def read_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    handle = path.open(encoding=encoding, newline="")

    def numbered() -> Iterator[Row]:
        with handle:
            # Numbered by record; csv yields [] for blank lines, which keeps the count aligned.
            yield from enumerate(csv.reader(handle), start=1)

    try:
        header, rows = _split_header(numbered())
    except csv.Error as exc:
        raise UnusableInput(_("The file is not valid CSV: %(error)s") % {"error": exc}) from exc
    return Table(header=header, rows=rows, encoding=encoding)


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person sees: integral floats without `.0` (phones and
    codes are often typed as numbers), dates in ISO form, empty cells as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def read_xlsx(path: Path) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnusableInput(_("%(file)s is not an Excel (.xlsx) file.") % {"file": path.name}) from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise UnusableInput(_("%(file)s unpacks to more than 2 GB; split it or save it as CSV.") % {"file": path.name})
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise UnusableInput(_("%(file)s cannot be read: %(error)s") % {"file": path.name, "error": exc}) from exc
    # calamine numbers rows from the first used row; a sheet starting lower keeps Excel's numbering.
    offset = sheet.start[0] if sheet.start else 0

    def numbered() -> Iterator[Row]:
        for index, cells in enumerate(sheet.iter_rows(), start=1 + offset):
            yield index, [cell_text(c) for c in cells]

    header, rows = _split_header(numbered())
    return Table(header=header, rows=rows, encoding="xlsx")


def open_table(path: Path) -> Table:
    if not path.is_file():
        raise UnusableInput(_("No such file: %(file)s") % {"file": path})
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return read_xlsx(path)
    if suffix in {".csv", ".txt", ".tsv", ""}:
        return read_csv(path)
    raise UnusableInput(_("Unsupported file type %(suffix)s: use .csv or .xlsx.") % {"suffix": suffix})


def count_rows(path: Path) -> int | None:
    """Data rows in a CSV, counted cheaply by newlines for the progress bar (an estimate when
    fields contain line breaks); None for spreadsheets."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return None
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return max(lines - 1, 0)
