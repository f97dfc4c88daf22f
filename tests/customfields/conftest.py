"""Helpers for custom-field tests: define fields through the real actions."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.customfields.actions import FieldInput, check_create_field
from kehu.customfields.models import FieldDefinition


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Argon2 for the six users of every test would dominate the run time; logins use force_login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def define(entity: str = "customer", key: str = "vip_level", type: str = "text", **extra: Any) -> FieldDefinition:
    extra.setdefault("label_zh", key)
    return check_create_field(None, FieldInput(entity=entity, key=key, type=type, **extra))


LEVELS = [
    {"value": "gold", "zh": "金卡", "en": "Gold"},
    {"value": "silver", "zh": "银卡", "en": "Silver"},
    {"value": "bronze", "zh": "铜卡", "en": "Bronze"},
]


@pytest.fixture
def fields(db: Any) -> dict[str, FieldDefinition]:
    """One customer field of each type."""
    return {
        "text": define(key="wechat_group", type="text", label_zh="微信群", label_en="WeChat group"),
        "number": define(key="shoe_size", type="number", label_zh="鞋码", label_en="Shoe size"),
        "date": define(key="joined_on", type="date", label_zh="入会日期", label_en="Joined on"),
        "choice": define(key="level", type="choice", label_zh="会员级别", label_en="Level", choices=LEVELS),
        "multi": define(
            key="interests",
            type="multi_choice",
            label_zh="兴趣",
            label_en="Interests",
            choices=[
                {"value": "shoes", "zh": "鞋", "en": "Shoes"},
                {"value": "kids", "zh": "童装", "en": "Kids"},
                {"value": "home", "zh": "家居", "en": "Home"},
            ],
        ),
        "boolean": define(key="newsletter", type="boolean", label_zh="订阅周刊", label_en="Newsletter"),
    }
