"""URLs of the data-quality page (under /quality/)."""

from django.urls import path

from kehu.quality import views

app_name = "quality"

urlpatterns = [
    path("", views.quality_page, name="page"),
    path("fixes/<int:run_id>/", views.fix_run, name="run"),
    path("<slug:check_key>/", views.check_detail, name="check"),
    path("<slug:check_key>/fix", views.start_fix, name="fix"),
    path("<slug:check_key>/count", views.check_count, name="count"),
]
