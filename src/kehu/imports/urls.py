"""URL map of the import pages (mounted under /imports/)."""

from django.urls import path

from kehu.imports import views

urlpatterns = [
    path("", views.history, name="imports"),
    path("new/", views.upload, name="imports-upload"),
    path("new/<str:token>/map/", views.mapping, name="imports-map"),
    path("new/<str:token>/preview/", views.preview, name="imports-preview"),
    path("new/<str:token>/start/", views.start, name="imports-start"),
    path("jobs/<int:job_id>/", views.job_detail, name="imports-job"),
    path("jobs/<int:job_id>/progress/", views.job_progress, name="imports-job-progress"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="imports-job-cancel"),
    path("jobs/<int:job_id>/run/", views.job_run, name="imports-job-run"),
    path("jobs/<int:job_id>/report.csv", views.job_report, name="imports-job-report"),
    path("jobs/<int:job_id>/revert/", views.job_revert, name="imports-job-revert"),
]
