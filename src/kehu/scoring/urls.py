from django.urls import path

from kehu.scoring import views

urlpatterns = [
    path("", views.dashboard, name="analytics"),
    path("run", views.run_scoring, name="analytics-run"),
    path("runs/<int:run_id>/progress", views.run_progress, name="analytics-run-progress"),
    path("warnings/", views.warnings, name="analytics-warnings"),
]
