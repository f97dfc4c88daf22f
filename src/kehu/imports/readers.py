"""Readers turning an uploaded file into a header and chunks of (row number, cells) with cells
as text. CSV in UTF-8 (with or without BOM) or GBK/GB18030 as Chinese Excel saves it; XLSX via
calamine (Rust; no XML entity expansion, no formula evaluation). Row numbers are the file's own,
header = row 1, so a report points at the row a person sees in Excel.

Plain UTF-8 CSV files (no blank lines, no line breaks inside quoted cells: what every shop
system and Excel's "CSV UTF-8" export writes) are also offered as column batches read by
pyarrow's streaming CSV reader, which the import hot path consumes without creating a Python
object per cell (ADR 0201). Everything else goes through the `csv` module row by row."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from django.utils.translation import gettext as _

# A spreadsheet whose parts unpack to more than this is refused before parsing (zip bomb guard).
MAX_XLSX_UNPACKED_BYTES = 2 * 1024**3
ENCODINGS = ("utf-8-sig", "gb18030")
Row = tuple[int, list[str]]
# pyarrow parses in blocks of this many bytes: ~10k order lines, small enough to keep memory flat.
ARROW_BLOCK_BYTES = 1 << 20


class UnusableInput(Exception):
    """The file cannot be imported at all (missing, unknown format, unreadable encoding)."""


@dataclass
class ColumnBatch:
    """Consecutive non-blank data rows as columns: the rows' numbers in the file and one
    pyarrow string array per header column (cells beyond a short row's end are "")."""

    numbers: np.ndarray
    columns: list[pa.Array]


@dataclass
class Table:
    """A file opened for import: its header cells and an iterator over its data rows; for plain
    UTF-8 CSV also `batches`, the same rows as column batches (use one or the other)."""

    header: list[str]
    rows: Iterator[Row]
    encoding: str = ""
    batches: Iterator[ColumnBatch] | None = None


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


@dataclass
class CsvScan:
    encoding: str
    plain: bool  # row numbers equal line numbers: no blank lines, no line breaks inside cells


_BLANK_LINE = re.compile(rb"\n[ \t]*\r?\n")


def scan_csv(path: Path) -> CsvScan:
    """One pass over the file: its encoding (see `detect_encoding`) and whether it is plain
    enough for the column reader. A line break inside a quoted cell leaves an odd number of
    quote characters before it; a stray quote also does, which only costs the fast path."""
    encoding = detect_encoding(path)
    if encoding != "utf-8-sig":
        return CsvScan(encoding, False)
    quotes = 0
    tail = b"\n"  # so that a blank first line is found like any other
    with path.open("rb") as handle:
        first = True
        while block := handle.read(1 << 20):
            if first:
                block = block.removeprefix(codecs.BOM_UTF8)
                first = False
            text = tail + block
            if _BLANK_LINE.search(text):
                return CsvScan(encoding, False)
            if b'"' in block:
                marks = np.frombuffer(block, np.uint8)
                running = quotes + np.cumsum(marks == 34)
                if np.any(running[marks == 10] % 2):
                    return CsvScan(encoding, False)
                quotes = int(running[-1])
            # Keep the last line's start so a blank line spanning two blocks is still seen.
            tail = text[text.rfind(b"\n") :] if b"\n" in text else text[-64:]
    return CsvScan(encoding, True)


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


def read_csv(path: Path, *, columns: bool = False) -> Table:
    """The CSV as rows; with `columns=True` and a plain UTF-8 file, also as column batches."""
    if columns:
        scan = scan_csv(path)
        if scan.plain:
            table = _read_csv_columns(path)
            if table is not None:
                return table
        encoding = scan.encoding
    else:
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


def _read_csv_columns(path: Path) -> Table | None:
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            header_cells = next(csv.reader(handle), None)
        except csv.Error:
            return None
    if not header_cells or not any(cell.strip() for cell in header_cells):
        return None
    width = len(header_cells)
    names = [f"c{i}" for i in range(width)]
    # Rows with too few or too many cells are handed to us by pyarrow; they are parsed with the
    # csv module and put back in their place, as the row reader would read them.
    odd_rows: list[tuple[int, list[str]]] = []

    def odd_row(row: Any) -> str:
        cells = next(csv.reader([row.text]), [])
        odd_rows.append((row.number, (cells + [""] * width)[:width]))
        return "skip"

    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(
                skip_rows=1, column_names=names, use_threads=False, block_size=ARROW_BLOCK_BYTES
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False, invalid_row_handler=odd_row),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None

    def with_leftovers() -> Iterator[pa.RecordBatch]:
        yield from reader
        if odd_rows:  # a last block made only of odd rows yields no batch of its own
            yield pa.RecordBatch.from_arrays([pa.array([], pa.string())] * width, names=names)

    def batches() -> Iterator[ColumnBatch]:
        number = 2
        for batch in with_leftovers():
            columns = list(batch.columns)
            count = batch.num_rows
            odd = sorted(odd_rows)
            odd_rows.clear()
            if odd:
                # Data rows take the line numbers the odd rows do not have.
                taken = np.array([n for n, _cells in odd], dtype=np.int64)
                total = count + len(odd)
                lines = np.arange(number, number + total, dtype=np.int64)
                plain = lines[~np.isin(lines, taken)][:count]
                numbers = np.concatenate([plain, taken])
                order = np.argsort(numbers, kind="stable")
                columns = [
                    pa.concat_arrays([col, pa.array([cells[i] for _n, cells in odd], pa.string())]).take(
                        pa.array(order)
                    )
                    for i, col in enumerate(columns)
                ]
                numbers = numbers[order]
            else:
                numbers = np.arange(number, number + count, dtype=np.int64)
            if len(numbers):
                number = int(numbers[-1]) + 1
            # Rows whose cells are all blank are skipped, as the row reader does; they keep their number.
            filled = np.zeros(len(numbers), dtype=bool)
            for col in columns:
                filled |= ~pc.equal(pc.utf8_trim_whitespace(col), "").to_numpy(zero_copy_only=False)
            if not filled.all():
                keep = pa.array(np.flatnonzero(filled))
                columns = [col.take(keep) for col in columns]
                numbers = numbers[filled]
            if len(numbers):
                yield ColumnBatch(numbers, columns)

    stream = batches()

    def rows() -> Iterator[Row]:
        for batch in stream:
            values = [col.to_pylist() for col in batch.columns]
            for index, number in enumerate(batch.numbers.tolist()):
                yield number, [column[index] for column in values]

    return Table(header=[c.strip() for c in header_cells], rows=rows(), encoding="utf-8-sig", batches=stream)


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


def open_table(path: Path, *, columns: bool = False) -> Table:
    if not path.is_file():
        raise UnusableInput(_("No such file: %(file)s") % {"file": path})
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return read_xlsx(path)
    if suffix in {".csv", ".txt", ".tsv", ""}:
        return read_csv(path, columns=columns)
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
