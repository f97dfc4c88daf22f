"""The published OpenAPI schema and docs page."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient


@pytest.mark.django_db
def test_it_publishes_the_openapi_schema_with_every_path():
    response = ApiClient().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert sorted(schema["paths"]) == [
        "/api/customers",
        "/api/customers/search",
        "/api/customers/{customer_id}",
        "/api/customers/{customer_id}/360",
        "/api/customers/{customer_id}/identities",
        "/api/customers/{customer_id}/notes",
        "/api/customers/{customer_id}/orders",
        "/api/identity/merges",
        "/api/identity/merges/{merge_id}/unmerge",
        "/api/identity/suggestions",
        "/api/me",
        "/api/orders/batch",
        "/api/orders/{order_id}",
    ]
    assert sorted(schema["paths"]["/api/customers"]) == ["get", "post"]
    assert sorted(schema["components"]["securitySchemes"]) == ["BrowserSessionAuth", "TokenAuth"]


@pytest.mark.django_db
def test_it_serves_the_interactive_docs():
    response = ApiClient().get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
