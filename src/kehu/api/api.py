"""The REST API (OpenAPI at /api/docs): token auth for machines, session + CSRF for the browser."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from kehu.accounts import policy
from kehu.api.auth import request_token, session_auth, token_auth
from kehu.api.customers import router as customers_router
from kehu.api.errors import install_handlers
from kehu.api.orders import router as orders_router
from kehu.api.schemas import MeOut
from kehu.identity.api import router as identity_router


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


class ExactJSONParser(Parser):
    """JSON numbers become Decimal, never float, so `299.10` arrives as exactly 299.10; NaN and
    Infinity are not JSON and are refused (the API answers 400)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return json.loads(request.body, parse_float=Decimal, parse_constant=_reject_constant)  # type: ignore[no-any-return]


class UnicodeJSONRenderer(JSONRenderer):
    """UTF-8 JSON without \\u escapes: Chinese names stay readable and half the size."""

    json_dumps_params = {"ensure_ascii": False}


class KehuAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Built on every request; custom fields defined a moment ago are described at once."""
        from kehu.customfields.openapi import describe_custom_fields

        return describe_custom_fields(super().get_openapi_schema(**kwargs))


api = KehuAPI(
    title="kehu API",
    version="1",
    description=(
        "The CRM's REST API. Authenticate with `Authorization: Bearer kehu_…` (a token from "
        "`kehu create-api-token`, limited by its scopes and by its user's role) or, from the browser, "
        "with the login session and the CSRF token. Money is a decimal string; times are ISO 8601."
    ),
    urls_namespace="api",
    auth=[token_auth, session_auth],
    parser=ExactJSONParser(),
    renderer=UnicodeJSONRenderer(),
)
install_handlers(api)
api.add_router("/", customers_router)
api.add_router("/", orders_router)
api.add_router("/", identity_router)


@api.get("/me", response=MeOut, tags=["auth"], summary="Who the API sees you as")
def me(request: HttpRequest) -> dict[str, Any]:
    user = request.auth
    token = request_token(request)
    return {
        "username": user.get_username(),
        "role": user.role,
        "capabilities": sorted(policy.capabilities(user)),
        "scopes": list(token.scopes) if token is not None else None,
    }
