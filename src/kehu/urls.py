"""URL map: the web UI, the REST API and Django admin for configuration."""

from django.contrib import admin
from django.urls import include, path

from kehu.api.api import api
from kehu.ops.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("analytics/", include("kehu.scoring.urls")),
    path("exports/", include("kehu.exports.urls")),
    path("quality/", include("kehu.quality.urls")),
    path("sales/", include("kehu.sales.urls")),
    path("imports/", include("kehu.imports.urls")),
    path("settings/fields/", include("kehu.customfields.urls")),
    path("identity/", include("kehu.identity.urls")),
    path("", include("kehu.web.urls")),
]
