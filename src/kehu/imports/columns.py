"""Column-at-a-time cleansing for the import hot path: whole columns of cell text (pyarrow string
arrays) in, parsed values plus an "accepted by the fast path" mask out.

Every function here is a *fast path* only: it accepts the overwhelmingly common spellings
(11-digit Chinese mobiles, plain e-mail addresses, plain amounts, ISO timestamps) with
vectorised pyarrow / pandas / numpy code and leaves everything else unaccepted. Callers send
unaccepted cells through the row-at-a-time parsers in `cleansing` and `customers.normalise`,
which produce the values and the error messages, so the two paths can never disagree on what
is valid, only on how fast they get there (ADR 0201)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

# Characters `normalise.phone_candidate` removes (RE2 spelling; `\s` is narrower in RE2 than in
# Python, which only sends more cells to the exact path, never accepts a wrong one).
_PHONE_NOISE = r"[\s\-().·/]"
_PHONE_SHAPE = r"^(?:\+86|0086|86)?(?P<national>1[3-9]\d{9})$"
# A conservative subset of what Django's EmailValidator accepts (dot-atom local part, LDH
# domain labels, alphabetic TLD); anything else is checked by `normalise_email` itself.
_EMAIL_SHAPE = r"^[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
_MONEY_SHAPE = r"^(?:¥|￥|CNY)?\s*(?P<whole>\d{1,12})(?:\.(?P<fraction>\d{1,2}))?$"
_INTEGER_SHAPE = r"^\d{1,7}$"
_ISO_SHAPE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$"


@dataclass
class ColumnChunk:
    """A chunk of data rows as columns: each row's number in the file and, per mapped field,
    a pyarrow string array of its cells (never null; a missing cell is "")."""

    numbers: np.ndarray
    cells: dict[str, pa.Array]

    def __len__(self) -> int:
        return len(self.numbers)

    def column(self, name: str) -> pa.Array:
        found = self.cells.get(name)
        return found if found is not None else pa.array([""] * len(self.numbers), pa.string())

    def take(self, indices: np.ndarray) -> ColumnChunk:
        positions = pa.array(indices, pa.int64())
        return ColumnChunk(self.numbers[indices], {k: v.take(positions) for k, v in self.cells.items()})


def fold(column: pa.Array) -> pa.Array:
    """`cleansing.fold` for a column: NFKC, surrounding whitespace removed."""
    return pc.utf8_trim_whitespace(pc.utf8_normalize(column, "NFKC"))


def nfc_strip(column: pa.Array) -> pa.Array:
    """`normalise.normalise_name` for a column."""
    return pc.utf8_trim_whitespace(pc.utf8_normalize(column, "NFC"))


def blank(column: pa.Array) -> np.ndarray:
    return pc.equal(pc.utf8_trim_whitespace(column), "").to_numpy(zero_copy_only=False)


def strings(column: pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


@cache
def _cn_mobile_patterns() -> tuple[str, str]:
    """The mobile and general number patterns of the phonenumbers metadata for China, so the
    fast path accepts exactly the prefixes the library considers allocated."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata is not None and metadata.mobile.national_number_pattern
    return (
        f"^(?:{metadata.mobile.national_number_pattern})$",
        f"^(?:{metadata.general_desc.national_number_pattern})$",
    )


def phones(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(E.164 values, accepted) for a column of raw phone cells. Accepted cells are blank ("")
    or Chinese mobiles in any of the common spellings; the rest need `normalise_phone`."""
    candidate = pc.replace_substring_regex(fold(column), _PHONE_NOISE, "")
    parts = pc.extract_regex(candidate, _PHONE_SHAPE)
    valid = pc.fill_null(pc.is_valid(parts), False)
    national = pc.if_else(valid, pc.fill_null(parts.field("national"), ""), "")
    if settings.DEFAULT_PHONE_REGION != "CN":
        valid = pc.and_(valid, pc.starts_with(candidate, "+86"))
    mobile, general = _cn_mobile_patterns()
    national = pc.fill_null(national, "")
    valid = pc.and_(
        valid, pc.and_(pc.match_substring_regex(national, mobile), pc.match_substring_regex(national, general))
    )
    values = strings(pc.if_else(valid, pc.binary_join_element_wise("+86", national, ""), ""))
    empty = pc.equal(candidate, "").to_numpy(zero_copy_only=False)
    return values, valid.to_numpy(zero_copy_only=False) | empty


def emails(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(lower-cased addresses, accepted): blank cells and plainly valid addresses."""
    value = pc.utf8_lower(fold(column))
    shaped = pc.and_(pc.match_substring_regex(value, _EMAIL_SHAPE), pc.less_equal(pc.utf8_length(value), 254))
    values = strings(pc.if_else(shaped, value, ""))
    empty = pc.equal(value, "").to_numpy(zero_copy_only=False)
    return values, shaped.to_numpy(zero_copy_only=False) | empty


def money_cents(column: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(amount in cents, present, accepted). Accepted: blank, or digits with up to two decimals
    and an optional currency sign and thousands commas."""
    value = pc.replace_substring(fold(column), ",", "")
    parts = pc.extract_regex(value, _MONEY_SHAPE)
    matched = pc.fill_null(pc.is_valid(parts), False)
    shaped = matched.to_numpy(zero_copy_only=False)
    present = ~pc.equal(value, "").to_numpy(zero_copy_only=False)
    whole = pc.if_else(matched, pc.fill_null(parts.field("whole"), "0"), "0")
    fraction = pc.utf8_rpad(pc.if_else(matched, pc.fill_null(parts.field("fraction"), ""), ""), 2, "0")
    cents = pc.cast(whole, pa.int64()).to_numpy() * 100 + pc.cast(fraction, pa.int64()).to_numpy()
    return np.where(shaped, cents, 0), present, shaped | ~present


def positive_integers(column: pa.Array, limit: int = 1_000_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, present, accepted) for quantities and line numbers: 1..limit in plain digits."""
    value = fold(column)
    shaped = pc.match_substring_regex(value, _INTEGER_SHAPE).to_numpy(zero_copy_only=False)
    numbers = pc.cast(pc.if_else(pa.array(shaped), value, "0"), pa.int64()).to_numpy()
    present = ~pc.equal(value, "").to_numpy(zero_copy_only=False)
    shaped &= (numbers > 0) & (numbers <= limit)
    return np.where(shaped, numbers, 0), present, shaped | ~present


def datetimes(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTC instants as datetime64[us], accepted) for ISO dates and date-times without an
    offset, read in the shop's time zone. Times that do not exist or are ambiguous there (DST
    changes before 1992 in China) are left to the exact path."""
    value = fold(column)
    shaped = pc.match_substring_regex(value, _ISO_SHAPE).to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(strings(value))
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="ISO8601", errors="coerce")
    local = parsed.dt.tz_localize(settings.TIME_ZONE, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    instants = local.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")[codes]
    return instants, shaped & ~np.isnat(instants)
