"""Token and session authentication, scopes, and the token command."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from kehu.accounts.models import ApiToken, hash_token
from kehu.accounts.tokens import CUSTOMERS_READ, ORDERS_READ, issue_token, revoke_token, verify_token
from kehu.customers.models import Customer
from kehu.privacy.models import AuditAction, AuditEvent
from tests.api.conftest import ApiClient
from tests.factories import make_customer

TOKEN_FORMAT = re.compile(r"kehu_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.mark.django_db
def test_it_refuses_a_request_without_credentials(users):
    response = ApiClient().get("/api/customers")
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized", "errors": {}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "secret",
    ["nonsense", "kehu_", "kehu_deadbeef_", "kehu_deadbeef_" + "A" * 43, "Bearer", "x" * 5000],
)
def test_it_refuses_an_invalid_token(users, secret):
    response = ApiClient(secret).get("/api/customers")
    assert response.status_code == 401


@pytest.mark.django_db
def test_it_refuses_a_token_whose_secret_is_altered(users):
    _token, raw = issue_token(users["admin"], "sync", [CUSTOMERS_READ])
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert ApiClient(raw).get("/api/customers").status_code == 200
    assert ApiClient(tampered).get("/api/customers").status_code == 401


@pytest.mark.django_db
def test_it_refuses_a_revoked_token(users):
    token, raw = issue_token(users["admin"], "sync", [CUSTOMERS_READ])
    assert revoke_token(token, actor=users["admin"]) is True
    assert revoke_token(token, actor=users["admin"]) is False
    assert ApiClient(raw).get("/api/customers").status_code == 401
    assert AuditEvent.objects.filter(object_type="api_token", action=AuditAction.UPDATE).count() == 1


@pytest.mark.django_db
def test_it_refuses_the_token_of_a_disabled_user(users):
    _token, raw = issue_token(users["sales"], "sync", [CUSTOMERS_READ])
    users["sales"].is_active = False
    users["sales"].save()
    assert ApiClient(raw).get("/api/customers").status_code == 401


@pytest.mark.django_db
def test_it_refuses_a_token_without_the_needed_scope(users):
    _token, raw = issue_token(users["admin"], "read only", [CUSTOMERS_READ])
    client = ApiClient(raw)
    response = client.post("/api/customers", {"name": "王芳"})
    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the customers:write scope."
    assert Customer.objects.count() == 0
    assert client.get("/api/orders/1").status_code == 403


@pytest.mark.django_db
def test_it_never_lets_a_token_exceed_its_users_role(users):
    _token, raw = issue_token(users["analyst"], "too ambitious", ["customers:read", "customers:write"])
    response = ApiClient(raw).post("/api/customers", {"name": "王芳"})
    assert response.status_code == 403
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_it_stores_only_the_hash_of_a_token_and_audits_its_creation(users):
    token, raw = issue_token(users["sales"], "web shop", ["orders:write", "orders:read", "orders:write"])
    assert TOKEN_FORMAT.fullmatch(raw)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hash_token(raw)
    assert raw.split("_")[1] == stored.prefix
    assert stored.scopes == ["orders:write", "orders:read"]
    assert raw not in str(list(ApiToken.objects.values()))
    event = AuditEvent.objects.get(object_type="api_token", object_id=str(token.pk))
    assert event.action == AuditAction.CREATE
    assert event.after == {"user": "sales", "name": "web shop", "prefix": stored.prefix, "scopes": stored.scopes}


@pytest.mark.django_db
def test_it_refuses_to_issue_unknown_scopes(users):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        issue_token(users["sales"], "bad", ["customers:read", "everything"])
    assert exc.value.message_dict == {"scopes": ["Unknown scope: everything."]}
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_it_records_when_a_token_was_last_used(users):
    token, raw = issue_token(users["sales"], "sync", [CUSTOMERS_READ])
    assert token.last_used_at is None
    assert verify_token(raw) is not None
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.django_db
def test_it_tells_a_caller_who_they_are(users):
    _token, raw = issue_token(users["service"], "desk", [CUSTOMERS_READ, ORDERS_READ])
    response = ApiClient(raw).get("/api/me")
    assert response.status_code == 200
    assert response.json() == {
        "username": "service",
        "role": "service",
        "capabilities": ["customers.edit", "customers.merge", "customers.unmask", "customers.view", "orders.view"],
        "scopes": ["customers:read", "orders:read"],
    }


@pytest.mark.django_db
def test_it_accepts_the_browser_session_and_checks_csrf_on_writes(users):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["sales"])
    me = browser.get("/api/me")
    assert me.status_code == 200
    assert me.json()["scopes"] is None

    refused = browser.post("/api/customers", {"name": "王芳"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "CSRF check Failed"
    assert Customer.objects.count() == 0

    csrf = _get_new_csrf_string()
    browser.cookies["csrftoken"] = csrf
    accepted = browser.post(
        "/api/customers", {"name": "王芳"}, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert accepted.status_code == 201
    assert Customer.objects.get().name == "王芳"


@pytest.mark.django_db
def test_it_answers_401_not_403_for_a_bad_token_on_a_write(users):
    make_customer("张伟")
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/api/customers", {"name": "王芳"}, content_type="application/json", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_it_prints_a_new_token_secret_once_from_the_command(users):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token", user="sales", name="web shop", scopes="customers:read,orders:write", stdout=out, stderr=err
    )
    secret = out.getvalue().strip()
    assert TOKEN_FORMAT.fullmatch(secret)
    token = verify_token(secret)
    assert token is not None
    assert (token.user.username, token.name, token.scopes) == ("sales", "web shop", ["customers:read", "orders:write"])
    assert secret not in err.getvalue()
    assert AuditEvent.objects.get(object_type="api_token").via == "cli"


@pytest.mark.django_db
def test_it_warns_when_the_role_cannot_use_a_scope_from_the_command(users):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token", user="analyst", name="bi", scopes="customers:read,orders:write", stdout=out, stderr=err
    )
    assert "the analyst role cannot use orders:write" in err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"user": "nobody", "name": "x", "scopes": "customers:read"}, "No user named 'nobody'."),
        (
            {"user": "sales", "name": "x", "scopes": "customers:everything"},
            "scopes: Unknown scope: customers:everything.",
        ),
        ({"user": "sales", "name": " ", "scopes": "customers:read"}, "name: Enter a name."),
    ],
)
def test_it_refuses_bad_command_input(users, options, message):
    with pytest.raises(CommandError) as exc:
        call_command("create_api_token", stdout=io.StringIO(), stderr=io.StringIO(), **options)
    assert str(exc.value) == message
    assert ApiToken.objects.count() == 0
