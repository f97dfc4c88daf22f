from __future__ import annotations

import unicodedata

import pytest
from django.core.exceptions import ValidationError

from kehu.customers.normalise import match_key, normalise_email, normalise_name, normalise_phone
from kehu.privacy.masking import mask_email, mask_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86-138-0013-8000",
        "+86 138 0013 8000",
        "8613800138000",
        "008613800138000",
        "１３８００１３８０００",
        "＋８６ １３８ ００１３ ８０００",
        "(+86) 138.0013.8000",
    ],
)
def test_it_normalises_every_common_chinese_mobile_form(raw):
    assert normalise_phone(raw) == "+8613800138000"


def test_it_normalises_landlines_with_area_codes():
    assert normalise_phone("010-6552 9988") == "+861065529988"
    assert normalise_phone("021-64370045") == "+862164370045"


@pytest.mark.parametrize("raw", ["", "12345", "138001380001234", "abc", "+86 100 0000 0000", "=1+1"])
def test_it_rejects_what_is_not_a_phone_with_a_code(raw):
    with pytest.raises(ValidationError) as info:
        normalise_phone(raw)
    assert info.value.code in {"phone_empty", "phone_invalid"}


def test_it_lower_cases_emails_and_rejects_bad_ones():
    assert normalise_email("  Zhang.Wei@Example.COM ") == "zhang.wei@example.com"
    with pytest.raises(ValidationError):
        normalise_email("zhang.wei@")
    with pytest.raises(ValidationError):
        normalise_email("<script>@x")


@pytest.mark.parametrize("name", ["𠀀𪚥", "阿依古丽·买买提", "王小明😀", "O'Brien", "‮evil‬"])
def test_it_keeps_names_unchanged_apart_from_nfc(name):
    assert normalise_name(name) == unicodedata.normalize("NFC", name)
    assert normalise_name(f"  {name}  ") == unicodedata.normalize("NFC", name)


def test_it_composes_decomposed_names_to_nfc():
    decomposed = "Zoe\u0301"
    assert normalise_name(decomposed) == "Zoé"


def test_it_matches_with_nfkc_case_folding():
    assert match_key("ＺＨＡＮＧ Wei") == "zhangwei"


def test_it_masks_phones_and_emails():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+14155550123") == "+14****0123"
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_phone("") == ""
