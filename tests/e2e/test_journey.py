"""The service agent's journey in a real browser: log in, find a caller by phone, open the 360
page, reveal the phone (audited), switch to English and back to Chinese."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.privacy.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, make_customer, make_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_takes_a_service_agent_from_login_to_the_revealed_phone(live_server: Any, page: Any, users: Any) -> None:
    customer = make_customer("王芳", phone="13800138000", email="wang.fang@example.com")
    make_order(customer, amount="1234.00")

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "service")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("138 0013 8000")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
    assert page.text_content("[data-testid=customer-name]") == "王芳"
    assert page.text_content("[data-identity=phone]").strip() == "138****8000"
    assert "13800138000" not in page.content()

    page.click("[data-testid=reveal]")
    page.wait_for_selector("[data-testid=revealed]")
    assert page.text_content("[data-identity=phone]").strip() == "+8613800138000"
    assert AuditEvent.objects.filter(action=AuditAction.UNMASK, object_id=str(customer.pk)).count() == 1

    page.click(".kehu-language > a")
    page.click("button[data-language=en]")
    page.wait_for_selector("text=Purchase history")
    assert page.text_content(".navbar-nav .nav-item.active .nav-link-title") == "Customers"

    page.click(".kehu-language > a")
    page.click("button[data-language=zh-hans]")
    page.wait_for_selector("text=购买记录")
    assert page.text_content(".navbar-nav .nav-item.active .nav-link-title") == "客户"
