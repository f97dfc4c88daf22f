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
    path("", include("kehu.web.urls")),
]
