"""CSV and XLSX writers that stream rows with bounded memory and neutralise spreadsheet formulas.

A text cell beginning with `= + - @` (or a tab or carriage return) would be run as a formula by
Excel, LibreOffice or Numbers; such cells get a leading apostrophe (OWASP's advice). Numbers,
dates and money are written as their types, so a negative amount stays a number."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
# Characters an XLSX file cannot hold (XML 1.0 forbids most C0 controls); openpyxl refuses them.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(text: str) -> str:
    """Prefix text a spreadsheet would evaluate as a formula with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dt.date, int, Decimal, float)):
        return str(value)
    return safe_text(str(value))


def xlsx_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        # XLSX has no time zones: write the shop's local time.
        return _local(value).replace(tzinfo=None)
    if isinstance(value, (dt.date, int, Decimal, float)):
        return value
    return safe_text(_XLSX_ILLEGAL.sub("", str(value)))


class _Echo:
    """A file-like object whose write returns the line, for streaming CSV responses."""

    def write(self, value: str) -> str:
        return value


def csv_lines(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV file as text chunks: a UTF-8 BOM (so Excel reads Chinese correctly), the header,
    then one line per row."""
    writer = csv.writer(_Echo())
    yield CSV_BOM + writer.writerow([safe_text(h) for h in headers])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def write_csv(
    handle: IO[bytes], headers: list[str], rows: Iterable[list[Any]], progress: Callable[[int], None] | None = None
) -> int:
    """Write CSV (UTF-8 with BOM) to a binary file; returns the number of data rows."""
    count = -1
    buffer: list[str] = []
    for count, line in enumerate(csv_lines(headers, rows)):
        buffer.append(line)
        if len(buffer) >= 1000:
            handle.write("".join(buffer).encode("utf-8"))
            buffer.clear()
            if progress:
                progress(count)
    handle.write("".join(buffer).encode("utf-8"))
    written = max(count, 0)
    if progress:
        progress(written)
    return written


def write_xlsx(
    handle: IO[bytes] | str,
    headers: list[str],
    rows: Iterable[list[Any]],
    *,
    sheet_title: str = "Sheet1",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write an XLSX workbook with openpyxl's write-only mode (rows go to a temporary file as
    they come, so memory stays flat whatever the row count); returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_XLSX_ILLEGAL.sub("", sheet_title)[:31] or "Sheet1")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=xlsx_cell(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    written = 0
    for written, row in enumerate(rows, start=1):
        sheet.append([xlsx_cell(v) for v in row])
        if progress and written % 1000 == 0:
            progress(written)
    workbook.save(handle)
    if progress:
        progress(written)
    return written
