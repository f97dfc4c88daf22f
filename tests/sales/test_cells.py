"""Reading one cell as typed or pasted from a spreadsheet."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kehu.sales.cells import parse_amount, parse_quantity


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("1,200", 1200),
        ("１２", 12),  # full-width digits, as Chinese input methods type them
        ("0", 0),
        ("", None),
        (None, None),
        ("007", 7),
    ],
)
def test_it_reads_quantities(raw: object, value: int | None) -> None:
    parsed = parse_quantity(raw)
    assert parsed.error is None
    assert parsed.value == value


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("1.5", "whole"),
        ("-1", "negative"),
        ("abc", "number"),
        ("1e3", "number"),
        ("3000000000", "too_large"),
        (True, "number"),
    ],
)
def test_it_refuses_bad_quantities(raw: object, error: str) -> None:
    parsed = parse_quantity(raw)
    assert parsed.error == error
    assert parsed.message


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12", Decimal("12.00")),
        ("12.5", Decimal("12.50")),
        ("1,234.56", Decimal("1234.56")),
        ("¥1,234.50", Decimal("1234.50")),
        ("￥ 99", Decimal("99.00")),
        ("12.340", Decimal("12.34")),  # trailing zeros are not extra places
        (".5", Decimal("0.50")),
        ("1\u00a0000", Decimal("1000.00")),  # non-breaking space as a thousands separator
        ("", None),
    ],
)
def test_it_reads_amounts(raw: str, value: Decimal | None) -> None:
    parsed = parse_amount(raw)
    assert parsed.error is None
    assert parsed.value == value


def test_it_stores_minus_zero_as_zero() -> None:
    assert str(parse_amount("-0").value) == "0.00"
    assert str(parse_amount("-0.00").value) == "0.00"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("12.345", "places"),
        ("-0.01", "negative"),
        ("12元", "number"),
        ("NaN", "number"),
        ("1e5", "number"),
        ("1234567890123", "too_large"),
        ("1.2.3", "number"),
    ],
)
def test_it_refuses_bad_amounts(raw: str, error: str) -> None:
    assert parse_amount(raw).error == error
