"""The acceptance path: a field defined in the settings UI is importable (`kehu import`, both the
column-wise and the row-wise paths), filterable in the list, readable and writable in the API and
described in /api/openapi.json, all in the same process without a restart."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from kehu.accounts.tokens import SCOPES, issue_token
from kehu.commerce.models import Order
from kehu.customers.models import Customer
from tests.imports.conftest import write_csv


def kehu_import(*args: str) -> dict:
    out = io.StringIO()
    call_command("import", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def admin_client(users) -> Client:
    client = Client()
    client.force_login(users["admin"])
    return client


def define_in_ui(client: Client, **data: str) -> None:
    form = {"entity": "customer", "label_zh": "", "label_en": "", "key": "", "type": "text", "choices": "",
            "help_text": "", **data}  # fmt: skip
    response = client.post("/settings/fields/new/", form)
    assert response.status_code == 302, response.context["form"].errors


def bearer(users, role: str = "admin") -> dict[str, str]:
    _token, raw = issue_token(users[role], "test", SCOPES)
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8", "gbk"], ids=["column-batches", "rows"])
def test_a_field_defined_in_the_ui_is_importable_filterable_and_in_the_api(users, tmp_path, encoding):
    client = admin_client(users)
    define_in_ui(client, label_zh="会员级别", label_en="Level", key="level", type="choice",
                 choices="gold | 金卡 | Gold\nsilver | 银卡 | Silver")  # fmt: skip
    define_in_ui(client, label_zh="鞋码", label_en="Shoe size", key="shoe_size", type="number")

    # Import: columns matched by the Chinese label and by the English label.
    path = write_csv(
        tmp_path / "c.csv",
        [["姓名", "手机", "会员级别", "Shoe size"],
         ["甲", "13800138000", "金卡", "42"],
         ["乙", "13900139000", "silver", ""],
         ["丙", "13700137000", "platinum", "40"],
         ["丁", "13600136000", "", "big"]],
        encoding=encoding,
    )  # fmt: skip
    report = tmp_path / "errors.csv"
    summary = kehu_import("customers", str(path), "--report", str(report))
    assert summary == {"created": 2, "updated": 0, "unchanged": 0, "errors": 2}
    assert dict(Customer.objects.values_list("name", "custom")) == {
        "甲": {"level": "gold", "shoe_size": 42},
        "乙": {"level": "silver"},
    }
    lines = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert lines[1:] == [
        ["4", "会员级别", "custom_invalid", "Unknown choice “platinum” (allowed: gold, silver)."],
        ["5", "Shoe size", "custom_invalid", "Enter a number, e.g. 12 or 3.5."],
    ]
    # The same file again changes nothing.
    assert kehu_import("customers", str(path))["created"] == 0
    assert Customer.objects.count() == 2

    # Filter the list.
    page = client.get("/customers/", {"cf_level": "gold"})
    names = [row["name"] for row in page.context["rows"]]
    assert names == ["甲"]
    page = client.get("/customers/", {"cf_shoe_size_min": "41", "cols_set": "1", "cols": "shoe_size"})
    assert [row["name"] for row in page.context["rows"]] == ["甲"]
    assert page.context["rows"][0]["custom_cells"] == ["42"]

    # Read and write through the API.
    jia = Customer.objects.get(name="甲")
    api = Client()
    headers = bearer(users)
    data = api.get(f"/api/customers/{jia.pk}", headers=headers).json()
    assert data["custom"] == {"level": "gold", "shoe_size": 42}
    changed = api.patch(f"/api/customers/{jia.pk}", json.dumps({"custom": {"level": "银卡", "shoe_size": 43.5}}),
                        content_type="application/json", headers=headers)  # fmt: skip
    assert changed.status_code == 200, changed.json()
    assert changed.json()["custom"] == {"level": "silver", "shoe_size": 43.5}

    # And in the OpenAPI document.
    schema = api.get("/api/openapi.json").json()["components"]["schemas"]
    custom_out = schema["CustomerOut"]["properties"]["custom"]
    assert custom_out["properties"]["level"]["enum"] == ["gold", "silver"]
    assert custom_out["properties"]["shoe_size"]["type"] == "number"
    assert custom_out["additionalProperties"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8", "gbk"], ids=["column-batches", "rows"])
def test_order_imports_carry_order_fields(users, ref, tmp_path, encoding):
    client = admin_client(users)
    define_in_ui(client, entity="order", label_zh="发票类型", label_en="Invoice", key="invoice", type="choice",
                 choices="paper | 纸质\nelectronic | 电子")  # fmt: skip
    define_in_ui(client, entity="order", label_zh="礼品包装", label_en="Gift wrap", key="gift_wrap", type="boolean")
    path = write_csv(
        tmp_path / "o.csv",
        [["订单号", "下单时间", "渠道", "商品编码", "单价", "手机", "发票类型", "礼品包装"],
         ["A1", "2024-05-01 10:00", "web", "M-SHIRT-01", "100", "13800138000", "电子", "是"],
         ["A1", "2024-05-01 10:00", "web", "M-SHIRT-01", "50", "13800138000", "", ""],
         ["A2", "2024-05-02 10:00", "web", "M-SHIRT-01", "80", "13900139000", "纸", "否"],
         ["A3", "2024-05-03 10:00", "web", "M-SHIRT-01", "80", "13900139000", "", "否"]],
        encoding=encoding,
    )  # fmt: skip
    report = tmp_path / "errors.csv"
    summary = kehu_import("orders", str(path), "--report", str(report))
    assert summary["created"] == 2 and summary["errors"] == 1
    assert dict(Order.objects.values_list("number", "custom")) == {
        "A1": {"invoice": "electronic", "gift_wrap": True},
        "A3": {"gift_wrap": False},
    }
    assert "Unknown choice “纸” (allowed: paper, electronic)." in report.read_text(encoding="utf-8-sig")
    order = Order.objects.get(number="A1")
    data = Client().get(f"/api/orders/{order.pk}", headers=bearer(users)).json()
    assert data["custom"] == {"invoice": "electronic", "gift_wrap": True}


@pytest.mark.django_db
def test_openapi_follows_definitions_without_a_restart(users):
    api = Client()
    first = api.get("/api/openapi.json").json()["components"]["schemas"]
    assert first["CustomerOut"]["properties"]["custom"]["properties"] == {}
    client = admin_client(users)
    define_in_ui(client, label_zh="兴趣", key="interests", type="multi_choice", choices="shoes|鞋\nkids|童装")
    define_in_ui(client, entity="order", label_zh="开票日期", key="invoiced_on", type="date")
    schemas = api.get("/api/openapi.json").json()["components"]["schemas"]
    interests = schemas["CustomerOut"]["properties"]["custom"]["properties"]["interests"]
    assert interests["type"] == "array" and interests["items"]["enum"] == ["shoes", "kids"]
    update = schemas["CustomerUpdateIn"]["properties"]["custom"]
    described = update["anyOf"][0]
    assert described["properties"]["interests"]["anyOf"][0]["items"]["enum"] == ["shoes", "kids"]
    assert schemas["OrderIn"]["properties"]["custom"]["anyOf"][0]["properties"]["invoiced_on"]["anyOf"][0] == {
        "type": "string", "format": "date", "title": "开票日期", "description": "开票日期",
    }  # fmt: skip
    assert schemas["OrderOut"]["properties"]["custom"]["properties"]["invoiced_on"]["format"] == "date"
    # Archiving removes it from the document at once.
    from kehu.customfields.models import FieldDefinition

    client.post(f"/settings/fields/{FieldDefinition.objects.get(key='interests').pk}/active/", {"active": "0"})
    schemas = api.get("/api/openapi.json").json()["components"]["schemas"]
    assert schemas["CustomerOut"]["properties"]["custom"]["properties"] == {}


@pytest.mark.django_db
def test_an_explicit_mapping_names_custom_columns_and_required_cells_may_not_be_empty(users, tmp_path):
    client = admin_client(users)
    define_in_ui(client, label_zh="税号", key="tax_id", type="text", required="on")
    path = write_csv(
        tmp_path / "c.csv",
        [["name", "phone", "TIN"], ["甲", "13800138000", "9131"], ["乙", "13900139000", ""]],
    )
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"TIN": "custom.tax_id"}))
    report = tmp_path / "errors.csv"
    summary = kehu_import("customers", str(path), "--mapping", str(mapping), "--report", str(report))
    assert summary == {"created": 1, "updated": 0, "unchanged": 0, "errors": 1}
    assert Customer.objects.get().custom == {"tax_id": "9131"}
    assert list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))[1] == [
        "3", "TIN", "required", "税号 is required."
    ]  # fmt: skip
    # A file without the column imports, leaving the values alone.
    plain = write_csv(tmp_path / "p.csv", [["name", "phone"], ["甲改", "13800138000"]])
    kehu_import("customers", str(plain))
    assert Customer.objects.get(custom__tax_id="9131").custom == {"tax_id": "9131"}
