"""Reading one grid cell as typed or pasted from a spreadsheet, with the reason it is refused.

The browser applies the same rules to show errors as the user types; the server applies them
again to everything it is sent, so a figure that reaches the database always passed here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from kehu.sales.models import AMOUNT_DIGITS, AMOUNT_PLACES

MAX_QUANTITY = 2_000_000_000  # fits the database's 32-bit integer column
_MAX_INTEGER_DIGITS = AMOUNT_DIGITS - AMOUNT_PLACES

# Spreadsheets copy figures as they show them: "1,234.50", "¥ 1,234.50", full-width digits, or
# with non-breaking spaces. These are accepted; anything else is refused, never guessed.
_STRIP = re.compile(r"[\s,¥$]")
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(\d+)(?:\.(\d*))?|-?\.(\d+)")

MESSAGES = {
    "number": _("Enter a number."),
    "whole": _("Enter a whole number of units."),
    "negative": _("Must not be negative."),
    "places": _("At most 2 decimal places."),
    "too_large": _("Too large."),
}


@dataclass(frozen=True)
class CellValue:
    """The parsed cell: `value` is None for a blank cell (clears the figure)."""

    value: int | Decimal | None
    error: str | None = None  # a key of MESSAGES

    @property
    def message(self) -> str:
        return str(MESSAGES[self.error]) if self.error else ""


def _clean(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):  # JSON true/false are not figures
        return "x"
    text = unicodedata.normalize("NFKC", str(raw))
    return _STRIP.sub("", text)


def parse_quantity(raw: object) -> CellValue:
    """A count of units: a whole number, 0 or more."""
    text = _clean(raw)
    if not text:
        return CellValue(None)
    if not _INTEGER.fullmatch(text):
        return CellValue(None, "whole" if _DECIMAL.fullmatch(text) else "number")
    number = int(text)
    if number < 0:
        return CellValue(None, "negative")
    if number > MAX_QUANTITY:
        return CellValue(None, "too_large")
    return CellValue(number)


def parse_amount(raw: object) -> CellValue:
    """Money in CNY: 0 or more, at most two decimal places."""
    text = _clean(raw)
    if not text:
        return CellValue(None)
    match = _DECIMAL.fullmatch(text)
    if not match:
        return CellValue(None, "number")
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return CellValue(None, "number")
    if number < 0:
        return CellValue(None, "negative")
    places = match.group(2) or match.group(3) or ""
    if len(places.rstrip("0")) > AMOUNT_PLACES:
        return CellValue(None, "places")
    if len(str(int(number))) > _MAX_INTEGER_DIGITS:
        return CellValue(None, "too_large")
    # abs() of zero: "-0" is a spreadsheet's zero, not a figure to store as -0.00.
    return CellValue(abs(number).quantize(Decimal(1).scaleb(-AMOUNT_PLACES)))


def show(value: int | Decimal | None) -> str:
    """How a stored figure is written into the grid (and compared with what the grid sends)."""
    if value is None:
        return ""
    return str(value)
