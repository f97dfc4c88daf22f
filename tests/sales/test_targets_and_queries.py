"""The targets sheet (salespersons × months), the store manager's scope in the grids, and the
reads reports use: facts, month summary with store shares of targets, year against targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from kehu.accounts.models import Role
from kehu.privacy.models import AuditEvent
from kehu.sales import queries
from kehu.sales.actions import check_save_store_sales, check_save_targets
from kehu.sales.models import FigureChange, SalesTarget, Sheet
from tests.factories import make_user
from tests.sales.helpers import MONTH, post_json

pytestmark = pytest.mark.django_db
URL = "sales-targets-save"


def target_cell(person: Any, month: int, value: str, **extra: Any) -> dict[str, Any]:
    return {"row": person.pk, "col": month, "field": "target", "value": value, **extra}


def targets() -> dict[tuple[str, str], Decimal]:
    return {
        (t.salesperson.username, t.month.strftime("%Y-%m")): t.amount
        for t in SalesTarget.objects.select_related("salesperson")
    }


def test_it_saves_a_years_targets_in_one_request(client: Any, users: Any) -> None:
    rep = users["sales"]
    client.force_login(users["admin"])
    response = post_json(
        client,
        reverse(URL),
        {"year": 2026, "cells": [target_cell(rep, 1, "50,000"), target_cell(rep, 12, "80000.5")]},
    )
    assert response.status_code == 200
    assert targets() == {("sales", "2026-01"): Decimal("50000.00"), ("sales", "2026-12"): Decimal("80000.50")}
    assert FigureChange.objects.filter(sheet=Sheet.TARGETS).count() == 2
    assert AuditEvent.objects.get(object_type="sales.targets").object_id == "2026"
    # Clearing a target removes it; saving the same figure again changes nothing.
    post_json(client, reverse(URL), {"year": 2026, "cells": [target_cell(rep, 1, "")]})
    again = post_json(client, reverse(URL), {"year": 2026, "cells": [target_cell(rep, 12, "80000.50")]})
    assert again.json()["changed"] == 0
    assert targets() == {("sales", "2026-12"): Decimal("80000.50")}


def test_it_saves_no_target_when_one_is_invalid(client: Any, users: Any) -> None:
    rep, manager = users["sales"], users["store_manager"]
    client.force_login(users["admin"])
    response = post_json(
        client,
        reverse(URL),
        {"year": 2026, "cells": [target_cell(rep, 1, "1000"), target_cell(manager, 2, "-3")]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": manager.pk, "col": 2, "field": "target", "message": "Must not be negative."}
    ]
    assert SalesTarget.objects.count() == 0


@pytest.mark.parametrize("body", [{"year": "2026", "cells": []}, {"year": 1999, "cells": []}, {"cells": []}])
def test_it_needs_a_year(client: Any, users: Any, body: dict[str, Any]) -> None:
    client.force_login(users["admin"])
    response = post_json(client, reverse(URL), body)
    assert response.status_code == 400


def test_it_refuses_months_outside_the_year_and_people_who_are_not_salespersons(client: Any, users: Any) -> None:
    client.force_login(users["admin"])
    bad_month = post_json(client, reverse(URL), {"year": 2026, "cells": [target_cell(users["sales"], 13, "1")]})
    assert bad_month.status_code == 400
    analyst = post_json(client, reverse(URL), {"year": 2026, "cells": [target_cell(users["analyst"], 1, "1")]})
    assert analyst.status_code == 400
    assert analyst.json()["errors"][0]["message"] == "No such salesperson."
    assert SalesTarget.objects.count() == 0


def test_a_store_manager_sets_targets_only_for_people_in_their_stores(client: Any, ref: Any, users: Any) -> None:
    manager = users["store_manager"]  # manages sh-01
    colleague = make_user(Role.SALES, username="sh-rep", stores=[ref["stores"]["sh-01"]])
    elsewhere = make_user(Role.SALES, username="bj-rep", stores=[ref["stores"]["bj-01"]])
    client.force_login(manager)
    page = client.get(reverse("sales-targets"), {"year": 2026})
    config = page.context["grid"]
    assert [row["code"] for row in config["rows"]] == ["sh-rep", "store_manager"]
    refused = post_json(
        client,
        reverse(URL),
        {"year": 2026, "cells": [target_cell(colleague, 1, "100"), target_cell(elsewhere, 1, "100")]},
    )
    assert refused.status_code == 403
    assert SalesTarget.objects.count() == 0
    allowed = post_json(client, reverse(URL), {"year": 2026, "cells": [target_cell(colleague, 1, "100")]})
    assert allowed.status_code == 200
    assert targets() == {("sh-rep", "2026-01"): Decimal("100.00")}


def test_the_store_manager_grid_shows_only_their_stores_with_stored_figures(client: Any, ref: Any, users: Any) -> None:
    sh, bj = ref["stores"]["sh-01"], ref["stores"]["bj-01"]
    shirt = ref["products"]["M-SHIRT-01"]
    check_save_store_sales(
        users["admin"],
        MONTH,
        [
            {"row": sh.pk, "col": shirt.pk, "field": "amount", "value": "123.40"},
            {"row": sh.pk, "col": shirt.pk, "field": "quantity", "value": "2"},
            {"row": bj.pk, "col": shirt.pk, "field": "amount", "value": "999"},
        ],
    )
    client.force_login(users["store_manager"])
    response = client.get(reverse("sales-store-sales"), {"month": "2026-11", "measure": "both"})
    grid = response.context["grid"]
    assert [row["code"] for row in grid["rows"]] == ["sh-01"]
    assert grid["rows"][0]["values"][f"{shirt.pk}:amount"] == "123.40"
    assert grid["rows"][0]["values"][f"{shirt.pk}:quantity"] == "2"
    assert response.context["summary"].amount == Decimal("123.40")  # bj-01's figure is not theirs
    assert b"999" not in response.content
    admin_view = client.get(reverse("sales-store-sales"), {"month": "2026-11"})
    assert admin_view.status_code == 200


def test_the_grid_picks_product_models_by_category_or_by_choice(client: Any, ref: Any, users: Any) -> None:
    client.force_login(users["admin"])
    shoes = ref["products"]["S-SNEAK-01"].category
    by_category = client.get(reverse("sales-store-sales"), {"category": shoes.pk})
    assert [c["subtitle"] for c in by_category.context["grid"]["columns"]] == ["S-SNEAK-01"]
    coat, shirt = ref["products"]["M-COAT-01"], ref["products"]["M-SHIRT-01"]
    picked = client.get(reverse("sales-store-sales"), {"products": [shirt.pk, coat.pk], "measure": "quantity"})
    columns = picked.context["grid"]["columns"]
    assert [c["subtitle"] for c in columns] == ["M-COAT-01", "M-SHIRT-01"]
    assert columns[0]["fields"] == ["quantity"]
    garbage = client.get(reverse("sales-store-sales"), {"month": "yesterday", "measure": "x", "category": "'"})
    assert garbage.status_code == 200
    assert garbage.context["measure"] == "amount"


def test_reads_for_reports_and_charts(ref: Any, users: Any) -> None:
    sh, hz, bj = ref["stores"]["sh-01"], ref["stores"]["hz-01"], ref["stores"]["bj-01"]
    shirt, sneaker = ref["products"]["M-SHIRT-01"], ref["products"]["S-SNEAK-01"]
    admin = users["admin"]
    check_save_store_sales(
        admin,
        MONTH,
        [
            {"row": sh.pk, "col": shirt.pk, "field": "amount", "value": "1000"},
            {"row": sh.pk, "col": sneaker.pk, "field": "amount", "value": "500"},
            {"row": bj.pk, "col": shirt.pk, "field": "amount", "value": "700"},
            {"row": bj.pk, "col": shirt.pk, "field": "quantity", "value": "3"},
        ],
    )
    check_save_store_sales(
        admin, dt.date(2026, 10, 1), [{"row": hz.pk, "col": shirt.pk, "field": "amount", "value": "50"}]
    )
    # One rep works in sh-01 and hz-01 (target shared equally), one in bj-01.
    rep_a = make_user(Role.SALES, username="rep-a", stores=[sh, hz])
    rep_b = make_user(Role.SALES, username="rep-b", stores=[bj])
    check_save_targets(
        admin,
        2026,
        [target_cell(rep_a, 11, "3000"), target_cell(rep_b, 11, "1000"), target_cell(rep_b, 10, "400")],
    )

    summary = queries.month_summary(admin, MONTH)
    assert summary.amount == Decimal("2200.00")
    assert summary.quantity == 3
    assert summary.target == Decimal("4000.00")
    assert summary.achieved == pytest.approx(0.55)
    assert summary.by_store == [
        (sh.name, Decimal("1500.00"), Decimal("1500.00")),
        (bj.name, Decimal("700.00"), Decimal("1000.00")),
        (hz.name, Decimal("0"), Decimal("1500.00")),
    ]
    assert sorted(summary.by_category) == sorted([("男装", Decimal("1700.00")), ("鞋履", Decimal("500.00"))])

    year = {m: (s, t) for m, s, t in queries.year_vs_targets(admin, 2026)}
    assert year["2026-10"] == (Decimal("50.00"), Decimal("400.00"))
    assert year["2026-11"] == (Decimal("2200.00"), Decimal("4000.00"))
    assert year["2026-01"] == (Decimal(0), Decimal(0))

    facts = queries.store_sales_facts(admin, dt.date(2026, 10, 1), MONTH)
    assert [(f.month.month, f.store.code, f.product.sku, f.amount) for f in facts] == [
        (10, "hz-01", "M-SHIRT-01", Decimal("50.00")),
        (11, "bj-01", "M-SHIRT-01", Decimal("700.00")),
        (11, "sh-01", "M-SHIRT-01", Decimal("1000.00")),
        (11, "sh-01", "S-SNEAK-01", Decimal("500.00")),
    ]
    manager_facts = queries.store_sales_facts(users["store_manager"], dt.date(2026, 1, 1), MONTH)
    assert {f.store.code for f in manager_facts} == {"sh-01"}
    manager_summary = queries.month_summary(users["store_manager"], MONTH)
    assert manager_summary.amount == Decimal("1500.00")
    assert manager_summary.target == Decimal("3000.00")  # rep-a works in sh-01; rep-b does not


def test_names_from_the_database_reach_the_page_only_as_escaped_json(client: Any, ref: Any, users: Any) -> None:
    store = ref["stores"]["sh-01"]
    store.name = "<script>alert(1)</script>"
    store.save()
    client.force_login(users["admin"])
    response = client.get(reverse("sales-store-sales"))
    assert b"<script>alert(1)</script>" not in response.content
    assert b"\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in response.content
    assert client.get(reverse("sales-targets"), {"year": "99999"}).context["year"] >= 2026
