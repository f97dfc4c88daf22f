"""Parsing and cleansing of cell text: dates (ISO, slashes, Chinese, Excel serial numbers),
money, quantities, and the split of a Chinese address into province / city / district.

Every parser raises `CellError(code, message)` on bad input, which the pipeline turns into one
line of the error report."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

CENT = Decimal("0.01")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (it counts 1900 as a leap year)


class CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fold(text: str) -> str:
    """Full-width digits and punctuation to ASCII, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", text).strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f")
_CHINESE_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")


def _excel_serial(text: str) -> dt.datetime | None:
    try:
        serial = float(text)
    except ValueError:
        return None
    # Serials between 1 (1900-01-01) and 2958465 (9999-12-31); anything else is not a date.
    if not 1 <= serial < 2958466:
        return None
    return EXCEL_EPOCH + dt.timedelta(days=serial)


@lru_cache(maxsize=65536)
def parse_datetime_text(text: str) -> dt.datetime:
    """An aware datetime from the forms people and spreadsheets write; naive values are in the
    shop's time zone (settings.TIME_ZONE). Cached: order exports repeat timestamps a lot."""
    value = fold(text)
    if not value:
        raise CellError("required", _("This value is required."))
    value = _CHINESE_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", value)
    value = value.replace("时", ":").replace("分", ":").rstrip("秒:")
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        date_part, _sep, time_part = value.partition(" ")
        for date_format in _DATE_FORMATS:
            try:
                day = dt.datetime.strptime(date_part, date_format)
            except ValueError:
                continue
            if not time_part:
                parsed = day
                break
            for time_format in _TIME_FORMATS:
                try:
                    moment = dt.datetime.strptime(time_part.strip(), time_format).time()
                except ValueError:
                    continue
                parsed = dt.datetime.combine(day.date(), moment)
                break
            break
        if parsed is None:
            parsed = _excel_serial(value)
    if parsed is None:
        raise CellError("date_invalid", _("“%(value)s” is not a date and time.") % {"value": text})
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return parsed


def parse_date_text(text: str) -> dt.date:
    try:
        return parse_datetime_text(text).date()
    except CellError as exc:
        raise CellError("date_invalid", _("“%(value)s” is not a date.") % {"value": text}) from exc


def parse_money(text: str) -> Decimal:
    value = fold(text).replace(",", "").removeprefix("¥").removeprefix("￥").removeprefix("CNY").strip()
    try:
        amount = Decimal(value).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise CellError("amount_invalid", _("“%(value)s” is not an amount.") % {"value": text}) from None
    if not amount.is_finite() or amount < 0:
        raise CellError("amount_invalid", _("“%(value)s” is not an amount.") % {"value": text})
    if amount >= Decimal("1e12"):
        raise CellError("amount_invalid", _("“%(value)s” is too large.") % {"value": text})
    return amount


def parse_quantity(text: str) -> int:
    value = fold(text)
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        number = Decimal(-1)
    if not number.is_finite() or number <= 0 or number != number.to_integral_value() or number > 1_000_000:
        raise CellError("quantity_invalid", _("“%(value)s” is not a positive whole number.") % {"value": text})
    return int(number)


# --- Chinese addresses -----------------------------------------------------------------------
# Provincial-level divisions, full names. A prefix matcher finds the province by full or short
# name, then the city and district by the suffixes below. Municipalities are their own city.
PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区",
    "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})
_SHORT = {"内蒙古自治区": "内蒙古", "广西壮族自治区": "广西", "西藏自治区": "西藏", "宁夏回族自治区": "宁夏",
          "新疆维吾尔自治区": "新疆", "香港特别行政区": "香港", "澳门特别行政区": "澳门"}  # fmt: skip
_PROVINCE_PREFIXES = sorted(
    [(full, full) for full in PROVINCES]
    + [(_SHORT.get(full, full.removesuffix("省").removesuffix("市")), full) for full in PROVINCES],
    key=lambda pair: -len(pair[0]),
)
_CITY = re.compile(r"^(.{1,12}?(?:自治州|地区|盟|市))")
_DISTRICT = re.compile(r"^(.{1,12}?(?:自治县|区|县|旗|市))")


def split_address(text: str) -> tuple[str, str, str, str]:
    """(province, city, district, rest) of a Chinese address written as one string, e.g.
    `上海市浦东新区世纪大道100号` → (上海市, 上海市, 浦东新区, 世纪大道100号). Parts that cannot
    be recognised stay in `rest`; nothing is dropped."""
    rest = fold(text).replace(" ", "")
    province = city = district = ""
    for prefix, full in _PROVINCE_PREFIXES:
        if rest.startswith(prefix):
            province, rest = full, rest[len(prefix) :]
            if province in MUNICIPALITIES:
                city = province
                rest = rest.removeprefix("市辖区")
                if rest.startswith(province):
                    rest = rest[len(province) :]
            break
    if province and not city and (match := _CITY.match(rest)):
        city, rest = match[1], rest[len(match[1]) :]
    if province and (match := _DISTRICT.match(rest)):
        district, rest = match[1], rest[len(match[1]) :]
    return province, city, district, rest
