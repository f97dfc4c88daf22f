"""The API alone, mounted where the real URL map mounts it, so API tests do not depend on the UI's URLs."""

from django.urls import path

from kehu.api.api import api

urlpatterns = [path("api/", api.urls)]
