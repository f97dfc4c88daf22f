"""The one validation and coercion module: stored forms, clear errors, unknown and archived keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kehu.customfields.actions import do_set_active
from kehu.customfields.values import clean_patch, clean_values
from tests.customfields.conftest import define


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "raw", "stored"),
    [
        ("wechat_group", "  上海一群 ", "上海一群"),
        ("shoe_size", "42", 42),
        ("shoe_size", "42.5", 42.5),
        ("shoe_size", Decimal("39.50"), 39.5),
        ("shoe_size", "1,200", 1200),
        ("shoe_size", 7, 7),
        ("joined_on", "2024-03-05", "2024-03-05"),
        ("joined_on", "2024年3月5日", "2024-03-05"),
        ("joined_on", "2024/3/5", "2024-03-05"),
        ("level", "gold", "gold"),
        ("level", "金卡", "gold"),
        ("level", "Silver", "silver"),
        ("interests", ["home", "shoes"], ["shoes", "home"]),
        ("interests", "童装、鞋", ["shoes", "kids"]),
        ("interests", "kids,kids", ["kids"]),
        ("newsletter", True, True),
        ("newsletter", "是", True),
        ("newsletter", "no", False),
    ],
)
def test_it_stores_each_type_in_one_json_friendly_form(fields, key, raw, stored):
    assert clean_values("customer", {key: raw}) == {key: stored}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("shoe_size", "big", "Enter a number, e.g. 12 or 3.5."),
        ("shoe_size", True, "Enter a number."),
        ("shoe_size", "NaN", "Enter a number, e.g. 12 or 3.5."),
        ("shoe_size", "1234567890123456", "A number has at most 15 significant digits."),
        ("joined_on", "2024-02-30", "Enter a date as YYYY-MM-DD."),
        ("joined_on", 20240101, "Enter a date as YYYY-MM-DD."),
        ("level", "platinum", "Unknown choice “platinum” (allowed: gold, silver, bronze)."),
        ("level", ["gold"], "Give one choice."),
        ("interests", ["shoes", "cars"], "Unknown choice “cars” (allowed: shoes, kids, home)."),
        ("interests", {"a": 1}, "Give a list of choices."),
        ("newsletter", "maybe", "Enter yes or no."),
        ("wechat_group", 12, "Enter text."),
        ("wechat_group", "x" * 1001, "At most 1000 characters."),
    ],
)
def test_it_refuses_bad_values_with_a_clear_message(fields, key, raw, message):
    with pytest.raises(ValidationError) as refused:
        clean_values("customer", {key: raw})
    assert refused.value.message_dict == {f"custom.{key}": [message]}


@pytest.mark.django_db
def test_it_refuses_unknown_and_archived_keys(fields):
    do_set_active(None, fields["text"], False)
    with pytest.raises(ValidationError) as refused:
        clean_values("customer", {"nope": 1, "wechat_group": "a"})
    assert refused.value.message_dict == {
        "custom.nope": ["Unknown custom field “nope”."],
        "custom.wechat_group": ["The field “wechat_group” is archived and no longer accepts values."],
    }


@pytest.mark.django_db
def test_it_merges_clears_and_keeps_archived_values(fields):
    stored = {"shoe_size": 40, "level": "gold", "old": "kept"}
    assert clean_values("customer", {"shoe_size": "", "newsletter": "yes"}, existing=stored) == {
        "level": "gold",
        "old": "kept",
        "newsletter": True,
    }
    assert clean_values("customer", {"level": None}, existing=stored) == {"shoe_size": 40, "old": "kept"}


@pytest.mark.django_db
def test_required_fields_are_asked_on_create_and_may_not_be_emptied(db):
    define(key="tax_id", type="text", required=True, label_zh="税号", label_en="Tax id")
    with pytest.raises(ValidationError) as refused:
        clean_values("customer", {}, creating=True)
    assert refused.value.message_dict == {"custom.tax_id": ["Tax id is required."]}
    with pytest.raises(ValidationError):
        clean_values("customer", {"tax_id": ""}, existing={"tax_id": "X"})
    # A record stored before the field became required is not refused for other changes.
    assert clean_values("customer", {}, existing={}) == {}


@pytest.mark.django_db
def test_it_refuses_a_non_object(fields):
    with pytest.raises(ValidationError) as refused:
        clean_values("customer", ["level"])
    assert refused.value.message_dict == {"custom": ["Custom fields must be an object of field keys to values."]}


@pytest.mark.django_db
def test_a_patch_marks_removals_with_none(fields):
    assert clean_patch("customer", {"level": "银卡", "shoe_size": ""}) == {"level": "silver", "shoe_size": None}
