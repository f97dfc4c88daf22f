"""Role × page matrix: who may open and change what, 404 outside a store manager's scope, and
nothing changed (no row, no audit entry) on every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Customer, Note
from kehu.privacy.models import AuditAction, AuditEvent

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]
EDITORS = {"admin", "sales", "service", "store_manager"}
UNMASKERS = {"admin", "sales", "service"}


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/search/?q=王芳", "/customers/", "detail", "order"])
def test_it_sends_anonymous_visitors_to_the_login_page(page: str, shanghai_customer: Customer) -> None:
    url = {
        "detail": f"/customers/{shanghai_customer.pk}/",
        "order": f"/orders/{shanghai_customer.orders.get().pk}/",
    }.get(page, page)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ["/", "/search/?q=王芳", "/customers/"])
def test_it_opens_the_shared_pages_for_every_role(
    client_for: Any, role: str, page: str, shanghai_customer: Customer
) -> None:
    assert client_for(role).get(page).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_opens_the_360_page_in_scope_and_hides_it_out_of_scope(
    client_for: Any, role: str, shanghai_customer: Customer, beijing_customer: Customer
) -> None:
    client = client_for(role)
    assert client.get(f"/customers/{shanghai_customer.pk}/").status_code == 200
    expected = 404 if role == "store_manager" else 200
    assert client.get(f"/customers/{beijing_customer.pk}/").status_code == expected
    assert client.get(f"/orders/{beijing_customer.orders.get().pk}/").status_code == expected
    assert client.get(f"/orders/{shanghai_customer.orders.get().pk}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_editors_create_customers(client_for: Any, role: str, ref: dict[str, Any]) -> None:
    before = Customer.objects.count()
    response = client_for(role).post(
        "/customers/new/",
        {
            "name": "新客户",
            "phone": "13700137000",
            "kind": "consumer",
            "party_type": "person",
            "home_store_id": ref["stores"]["sh-01"].pk,
        },
    )
    if role in EDITORS:
        created = Customer.objects.get(name="新客户")
        assert response.status_code == 302
        assert response["Location"] == f"/customers/{created.pk}/"
        assert Customer.objects.count() == before + 1
    else:
        assert response.status_code == 403
        assert Customer.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_editors_change_a_profile(client_for: Any, role: str, shanghai_customer: Customer) -> None:
    response = client_for(role).post(
        f"/customers/{shanghai_customer.pk}/edit/",
        {
            "name": "王芳芳",
            "kind": "b2b",
            "party_type": "person",
            "gender": "F",
            "home_store_id": shanghai_customer.home_store_id,
        },
    )
    shanghai_customer.refresh_from_db()
    if role in EDITORS:
        assert response.status_code == 302
        assert (shanghai_customer.name, shanghai_customer.kind) == ("王芳芳", "b2b")
    else:
        assert response.status_code == 403
        assert (shanghai_customer.name, shanghai_customer.kind) == ("王芳", "consumer")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_editors_add_notes(client_for: Any, role: str, shanghai_customer: Customer) -> None:
    response = client_for(role).post(f"/customers/{shanghai_customer.pk}/notes/", {"body": "喜欢深色外套"})
    if role in EDITORS:
        assert response.status_code == 302
        assert list(Note.objects.values_list("body", flat=True)) == ["喜欢深色外套"]
    else:
        assert response.status_code == 403
        assert Note.objects.count() == 0


@pytest.mark.django_db
def test_it_hides_out_of_scope_customers_from_a_store_managers_changes(
    client_for: Any, beijing_customer: Customer
) -> None:
    client = client_for("store_manager")
    assert client.post(f"/customers/{beijing_customer.pk}/notes/", {"body": "x"}).status_code == 404
    assert (
        client.post(
            f"/customers/{beijing_customer.pk}/edit/", {"name": "x", "kind": "consumer", "party_type": "person"}
        ).status_code
        == 404
    )
    beijing_customer.refresh_from_db()
    assert beijing_customer.name == "赵强"
    assert Note.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_reveals_personal_data_only_to_roles_that_may_unmask(
    client_for: Any, role: str, shanghai_customer: Customer
) -> None:
    response = client_for(role).post(f"/customers/{shanghai_customer.pk}/reveal/", HTTP_HX_REQUEST="true")
    unmask_events = AuditEvent.objects.filter(action=AuditAction.UNMASK, object_id=str(shanghai_customer.pk))
    if role in UNMASKERS:
        assert response.status_code == 200
        body = response.content.decode()
        assert "+8613800138000" in body
        assert "wang.fang@example.com" in body
        assert unmask_events.count() == 1
        assert unmask_events.get().actor_label == role
    else:
        assert response.status_code == 403
        assert unmask_events.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_keeps_personal_data_masked_in_pages(client_for: Any, role: str, shanghai_customer: Customer) -> None:
    client = client_for(role)
    for url in [f"/customers/{shanghai_customer.pk}/", "/customers/", "/search/?q=王芳", "/search/live/?q=王芳"]:
        body = client.get(url).content.decode()
        assert "138****8000" in body, url
        assert "13800138000" not in body, url
        assert "wang.fang@example.com" not in body, url


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_shows_the_reveal_button_only_to_roles_that_may_unmask(
    client_for: Any, role: str, shanghai_customer: Customer
) -> None:
    body = client_for(role).get(f"/customers/{shanghai_customer.pk}/").content.decode()
    assert ('data-testid="reveal"' in body) is (role in UNMASKERS)


@pytest.mark.django_db
def test_it_audits_every_opening_of_the_360_page(client_for: Any, shanghai_customer: Customer) -> None:
    client_for("marketing").get(f"/customers/{shanghai_customer.pk}/")
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.object_type, event.object_id, event.actor_label) == (
        "customer",
        str(shanghai_customer.pk),
        "marketing",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_editors_tag_customers_in_bulk(
    client_for: Any, role: str, shanghai_customer: Customer, beijing_customer: Customer
) -> None:
    response = client_for(role).post(
        "/customers/bulk-tag/", {"customer": [shanghai_customer.pk, beijing_customer.pk], "tag": "VIP"}
    )
    tagged = set(Customer.objects.filter(tags__name="VIP").values_list("pk", flat=True))
    if role not in EDITORS:
        assert response.status_code == 403
        assert tagged == set()
        assert AuditEvent.objects.filter(action=AuditAction.UPDATE).count() == 0
    elif role == "store_manager":
        assert response.status_code == 302
        assert tagged == {shanghai_customer.pk}
    else:
        assert response.status_code == 302
        assert tagged == {shanghai_customer.pk, beijing_customer.pk}
