"""URLs of the export pages (under /exports/)."""

from django.urls import path

from kehu.exports import views

app_name = "exports"

urlpatterns = [
    path("", views.my_export_list, name="mine"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("jobs/<int:job_id>/progress", views.job_progress, name="job-progress"),
    path("jobs/<int:job_id>/download", views.job_download, name="job-download"),
    path("<slug:list_key>/", views.start_export, name="start"),
]
