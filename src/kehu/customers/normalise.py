"""Normalisation of identities and names: phones to E.164, emails lower-cased, names to NFC."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

_PHONE_NOISE = re.compile(r"[\s\-().·/]")


class InvalidPhone(ValidationError):
    pass


def phone_candidate(text: str) -> str:
    """Fold full-width digits and strip separators: `＋８６ 138-0013-8000` → `+8613800138000`."""
    folded = unicodedata.normalize("NFKC", text).strip()
    return _PHONE_NOISE.sub("", folded)


def normalise_phone(text: str, region: str | None = None) -> str:
    """Return the E.164 form of a phone number written in any common Chinese form, or raise
    `InvalidPhone`. Accepts spaces, dashes, +86 / 86 / 0086 prefixes, full-width digits and
    landlines with an area code (`010-12345678`)."""
    region = region or settings.DEFAULT_PHONE_REGION
    candidate = phone_candidate(text)
    if not candidate:
        raise InvalidPhone(_("Enter a phone number."), code="phone_empty")
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    # "8613800138000": a Chinese mobile written with the country code but no plus sign.
    if region == "CN" and candidate.startswith("86") and len(candidate) == 13 and candidate[2] == "1":
        candidate = "+" + candidate
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(_("“%(value)s” is not a phone number.") % {"value": text}, code="phone_invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_("“%(value)s” is not a valid phone number.") % {"value": text}, code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    candidate = phone_candidate(text)
    return len(candidate) >= 7 and bool(re.fullmatch(r"\+?\d+", candidate))


def normalise_email(text: str) -> str:
    """Lower-case and validate an email address; raise ValidationError if it is not one."""
    value = unicodedata.normalize("NFKC", text).strip().lower()
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid email address.") % {"value": text}, code="email_invalid"
        ) from exc
    return value


def normalise_name(text: str) -> str:
    """Names are stored as NFC with surrounding whitespace removed; nothing else is changed
    (no guessing of surname splits, rare characters, `·` and emoji kept)."""
    return unicodedata.normalize("NFC", text).strip()


def match_key(text: str) -> str:
    """The form used for matching (not storage): NFKC, case-folded, inner whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())
