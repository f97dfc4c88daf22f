"""The vectorised fast paths agree with the row-at-a-time parsers they stand in for, and the
column reader streams a large file in bounded chunks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.customers.normalise import normalise_email, normalise_phone
from kehu.imports import columns
from kehu.imports.actions import _column_chunks
from kehu.imports.cleansing import CellError, parse_datetime_text, parse_money
from kehu.imports.readers import read_csv
from tests.imports.conftest import write_csv

PREFIXES = ["", "+86", "86", "0086", "+86 ", "＋８６", "86-"]


def spelled(digits: str, style: int) -> str:
    if style == 0:
        return digits
    if style == 1:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return f"({digits[:3]}) {digits[3:]}"
    return digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


phone_texts = st.builds(
    lambda prefix, digits, style, pad: f"{pad}{prefix}{spelled(digits, style)}{pad}",
    st.sampled_from(PREFIXES),
    st.from_regex(r"1[0-9]{10}", fullmatch=True) | st.from_regex(r"[0-9]{7,13}", fullmatch=True),
    st.integers(0, 4),
    st.sampled_from(["", " ", "\u3000"]),
)


def exact_phone(text: str) -> str | None:
    try:
        return normalise_phone(text) if text.strip() else ""
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None)
@given(st.lists(phone_texts, min_size=1, max_size=30))
def test_it_accepts_only_phones_normalise_phone_accepts_and_gives_the_same_e164(texts):
    values, accepted = columns.phones(pa.array(texts, pa.string()))
    for text, value, ok in zip(texts, values, accepted, strict=True):
        if ok:
            assert value == exact_phone(text), text


def test_it_takes_the_fast_path_for_the_common_mobile_spellings():
    texts = ["13800138000", "+86 138 0013 8000", "138-0013-8000", "8613800138000", "0086 13800138000", ""]
    values, accepted = columns.phones(pa.array(texts))
    assert accepted.all()
    assert list(values) == ["+8613800138000"] * 5 + [""]
    _values, accepted = columns.phones(pa.array(["010-12345678", "12345", "14000000000"]))
    assert not accepted.any()  # a landline, garbage, an unallocated prefix: the exact path decides


@settings(max_examples=200, deadline=None)
@given(st.lists(st.emails() | st.text(max_size=20), min_size=1, max_size=20))
def test_it_accepts_only_emails_normalise_email_accepts(texts):
    values, accepted = columns.emails(pa.array(texts, pa.string()))
    for text, value, ok in zip(texts, values, accepted, strict=True):
        if ok and text.strip():
            assert value == normalise_email(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.from_regex(r"(¥|￥|CNY)?[0-9]{1,13}(\.[0-9]{0,3})?", fullmatch=True) | st.text(max_size=8), max_size=20)
)
def test_it_parses_amounts_like_parse_money(texts):
    cents, present, accepted = columns.money_cents(pa.array(texts, pa.string()))
    for text, value, given_, ok in zip(texts, cents, present, accepted, strict=True):
        if ok and given_:
            assert Decimal(int(value)).scaleb(-2) == parse_money(text)


def test_it_parses_iso_times_in_the_shop_time_zone_like_parse_datetime_text():
    texts = ["2025-11-11 10:00", "2025-01-01", "2025-06-30T23:59:59.5", "2025-02-30 10:00", "2025年1月1日", "45658.5"]
    instants, accepted = columns.datetimes(pa.array(texts))
    assert list(accepted) == [True, True, True, False, False, False]
    for text, instant, ok in zip(texts, instants, accepted, strict=True):
        if ok:
            expected = parse_datetime_text(text).astimezone(dt.UTC).replace(tzinfo=None)
            assert instant.astype(dt.datetime) == expected
    with pytest.raises(CellError):
        parse_datetime_text("2025-02-30 10:00")


def test_it_streams_a_large_file_in_bounded_chunks_without_splitting_an_order(tmp_path: Path):
    rows = [["order_no", "sku"]]
    for order in range(20_000):
        rows.extend([[f"O{order}", "A"], [f"O{order}", "B"]] if order % 3 == 0 else [[f"O{order}", "A"]])
    table = read_csv(write_csv(tmp_path / "big.csv", rows), columns=True)
    assert table.batches is not None
    sizes, seen, last_number = [], set(), 1
    for chunk in _column_chunks(table.batches, 5000, 0):
        sizes.append(len(chunk.numbers))
        orders = chunk.columns[0].to_pylist()
        assert not (set(orders) & seen)  # an order never continues in the next chunk
        seen.update(orders)
        assert chunk.numbers[0] == last_number + 1
        last_number = int(chunk.numbers[-1])
    assert sum(sizes) == len(rows) - 1
    assert max(sizes) <= 5000 and min(sizes[:-1]) >= 4998  # cut before the last, unfinished order


def test_it_reads_rows_with_missing_or_extra_cells_in_their_place(tmp_path: Path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n4,5\n7,8,9,10\n,,\n11,12,13\n")
    table = read_csv(path, columns=True)
    assert table.batches is not None
    assert list(table.rows) == [
        (2, ["1", "2", "3"]),
        (3, ["4", "5", ""]),
        (4, ["7", "8", "9"]),
        (6, ["11", "12", "13"]),
    ]


@pytest.mark.parametrize(
    "content",
    [b"a,b\n1,2\n\n3,4\n", b'a,b\n1,"x\ny"\n3,4\n', "a,b\n甲,乙\n".encode("gb18030")],
    ids=["blank line", "line break in a cell", "GB18030"],
)
def test_it_reads_files_the_column_reader_cannot_number_row_by_row(tmp_path: Path, content: bytes):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert read_csv(path, columns=True).batches is None
