"""The REST API (OpenAPI at /api/docs)."""

from ninja import NinjaAPI

api = NinjaAPI(title="kehu API", version="1", urls_namespace="api")
