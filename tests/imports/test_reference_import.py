from __future__ import annotations

from decimal import Decimal

import pytest

from kehu.commerce.models import Product, Store
from kehu.imports.actions import revert_import
from kehu.imports.cleansing import split_address
from kehu.imports.registry import Field, Importer, get_importer, register_importer, resolve_mapping
from tests.imports.conftest import run, write_csv


@pytest.mark.django_db
def test_it_upserts_products_by_sku_and_reverts_them(ref, files):
    rows = [["商品编码", "商品名称", "类目", "售价"], ["M-SHIRT-01", "牛津纺衬衫", "menswear", "259"],
            ["N-1", "新款", "鞋履", "¥1,299.50"]]  # fmt: skip
    job = run("products", write_csv(files / "p.csv", rows))
    assert job.summary() == {"created": 1, "updated": 1, "unchanged": 0, "errors": 0}
    assert Product.objects.get(sku="N-1").price == Decimal("1299.50")
    assert run("products", write_csv(files / "p.csv", rows)).summary()["unchanged"] == 2
    assert Product.objects.get(sku="M-SHIRT-01").cost == Decimal("149.50")
    revert_import(job)
    assert not Product.objects.filter(sku="N-1").exists()
    assert Product.objects.get(sku="M-SHIRT-01").price == Decimal("299.00")
    assert Product.objects.get(sku="M-SHIRT-01").cost == Decimal("149.50")  # no cost column: kept


@pytest.mark.django_db
def test_it_upserts_stores_by_code(ref, files):
    rows = [["门店编码", "门店名称", "区域", "地址", "开业日期"],
            ["sz-01", "深圳万象城店", "华东", "广东省深圳市南山区深南大道1号", "2020-05-01"],
            ["sh-01", "上海南京路店", "east", "", ""], ["x", "y", "火星", "", ""]]  # fmt: skip
    job = run("stores", write_csv(files / "s.csv", rows))
    assert job.summary() == {"created": 1, "updated": 0, "unchanged": 1, "errors": 1}
    assert Store.objects.filter(code="sz-01").values_list("province", "city", "address").get() == (
        "广东省",
        "深圳市",
        "南山区深南大道1号",
    )


def test_it_splits_chinese_addresses_by_prefix():
    assert split_address("北京朝阳区三里屯路19号") == ("北京市", "北京市", "朝阳区", "三里屯路19号")
    assert split_address("广西壮族自治区南宁市青秀区民族大道") == ("广西壮族自治区", "南宁市", "青秀区", "民族大道")
    assert split_address("浙江省杭州市余杭区文一西路") == ("浙江省", "杭州市", "余杭区", "文一西路")
    assert split_address("某某路1号") == ("", "", "", "某某路1号")


@pytest.mark.django_db  # the importer's columns include the custom fields defined in the database
def test_it_matches_chinese_and_english_headers():
    importer = get_importer("orders")
    header = ["订单编号", "下单时间", "手机号码（必填）", "Mobile", "SKU", "Qty", "无关"]
    assert resolve_mapping(header, importer, None) == {
        "order_no": 0,
        "ordered_at": 1,
        "phone": 2,
        "sku": 4,
        "quantity": 5,
    }


def test_it_lets_other_apps_register_importers():
    class TicketImporter(Importer):
        kind = "tickets"
        fields = (Field("subject", ("主题",), required=True),)

    register_importer("tickets", TicketImporter)
    try:
        assert get_importer("tickets") is TicketImporter
        assert resolve_mapping(["主题"], TicketImporter, None) == {"subject": 0}
    finally:
        from kehu.imports import registry

        registry._REGISTRY.pop("tickets")
