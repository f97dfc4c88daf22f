"""Django admin for configuration: pages open, audit events and API tokens cannot be changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.accounts.models import User
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction, AuditEvent


@pytest.fixture
def superuser_client(ref: dict[str, Any]) -> Client:
    user = User.objects.create_superuser("root", "root@example.com", "x-long-password-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/commerce/channel/",
        "/admin/commerce/store/",
        "/admin/commerce/region/",
        "/admin/commerce/productcategory/",
        "/admin/commerce/product/",
        "/admin/accounts/user/",
        "/admin/accounts/apitoken/",
        "/admin/privacy/auditevent/",
        "/admin/customers/tag/",
        "/admin/commerce/order/",
    ],
)
def test_it_opens_the_configuration_pages(superuser_client: Client, url: str) -> None:
    assert superuser_client.get(url).status_code == 200


@pytest.mark.django_db
def test_it_keeps_audit_events_read_only_and_undeletable(superuser_client: Client) -> None:
    event = do_audit(None, AuditAction.EXPORT, "customer", 1)
    assert superuser_client.get("/admin/privacy/auditevent/add/").status_code == 403
    superuser_client.post(f"/admin/privacy/auditevent/{event.pk}/change/", {"action": "delete"})
    assert superuser_client.post(f"/admin/privacy/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["export"]
