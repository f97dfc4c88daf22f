"""One error shape for the whole API: `{"detail": "...", "errors": {"field.path": ["message"]}}`,
and the mapping of domain exceptions to status codes, so bad input is never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import HttpError
from ninja.errors import ValidationError as SchemaValidationError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)

# Where ninja says a value came from; the parameter name after "body" is ours, not the client's.
_SOURCES = {"query", "path", "header", "cookie", "form", "file"}


def message_dict(exc: DjangoValidationError, default_field: str = "__all__") -> dict[str, list[str]]:
    """A Django ValidationError as {field: [messages]}; errors raised without a field (e.g. by
    `normalise_phone`) are put under `default_field`."""
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {default_field: list(exc.messages)}


def schema_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Pydantic's error list as {dotted.field: [messages]}: `("body", "payload", "orders", 0,
    "customer", "phone")` becomes `orders.0.customer.phone`."""
    out: dict[str, list[str]] = {}
    for error in errors:
        loc = list(error.get("loc") or ())
        if loc and loc[0] == "body":
            loc = loc[2:]
        elif loc and loc[0] in _SOURCES:
            loc = loc[1:]
        key = ".".join(str(part) for part in loc) or "__all__"
        out.setdefault(key, []).append(str(error.get("msg", "Invalid value.")))
    return out


def error_body(detail: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or {}}


def install_handlers(api: NinjaAPI) -> None:
    def validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return api.create_response(request, error_body("Invalid input.", message_dict(exc)), status=422)

    def schema(request: HttpRequest, exc: SchemaValidationError) -> HttpResponse:
        return api.create_response(request, error_body("Invalid input.", schema_errors(exc.errors)), status=422)

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(request, error_body(exc.message), status=exc.status_code)

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        # The same answer whether the object does not exist or lies outside the caller's scope.
        return api.create_response(request, error_body("Not found."), status=404)

    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return api.create_response(request, error_body("You do not have permission to do this."), status=403)

    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return api.create_response(request, error_body("The request body is too large."), status=413)

    def conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # A unique constraint lost a race with a concurrent request (the checks before the write
        # passed); the client may retry, and the retry will see the other request's row.
        logger.warning("Integrity error on %s %s: %s", request.method, request.path, exc)
        return api.create_response(
            request, error_body("The request conflicted with a concurrent change; retry it."), status=409
        )

    api.add_exception_handler(DjangoValidationError, validation)
    api.add_exception_handler(SchemaValidationError, schema)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(RequestDataTooBig, too_big)
    api.add_exception_handler(IntegrityError, conflict)
