"""Reverting an import puts back the custom-field values it changed on existing records, and
removes the records it created with theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kehu.customers.models import Customer
from kehu.imports.actions import revert_import
from tests.customfields.conftest import define
from tests.factories import make_customer
from tests.imports.conftest import run, write_csv


@pytest.mark.django_db
def test_revert_restores_custom_values_on_existing_customers(tmp_path: Path, ref: dict[str, Any]) -> None:
    define(key="wechat_group", type="text", label_zh="微信群", label_en="WeChat group")
    define(key="shoe_size", type="number", label_zh="鞋码", label_en="Shoe size")
    existing = make_customer("王芳", phone="13800138000")
    Customer.objects.filter(pk=existing.pk).update(custom={"wechat_group": "老客群", "note": "kept"})

    header = ["会员编号", "姓名", "手机号", "微信群", "鞋码"]
    first = run(
        "customers",
        write_csv(
            tmp_path / "a.csv",
            [header, ["P1", "王芳", "13800138000", "新客群", "38"], ["P2", "李娜", "13900139000", "新客群", "36"]],
        ),
        source="pos",
    )
    second = run(
        "customers",
        write_csv(tmp_path / "b.csv", [header, ["P1", "王芳", "13800138000", "VIP群", ""]]),
        source="pos",
    )
    existing.refresh_from_db()
    assert existing.custom == {"wechat_group": "VIP群", "note": "kept", "shoe_size": 38}

    revert_import(second)
    existing.refresh_from_db()
    assert existing.custom == {"wechat_group": "新客群", "note": "kept", "shoe_size": 38}

    revert_import(first)
    existing.refresh_from_db()
    assert existing.custom == {"wechat_group": "老客群", "note": "kept"}
    assert not Customer.objects.filter(source_system="pos", source_id="P2").exists()
