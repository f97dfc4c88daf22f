"""URLs of identity resolution: the review queue, compare-and-merge, undo, duplicate scans."""

from django.urls import path

from kehu.identity import views

app_name = "identity"

urlpatterns = [
    path("", views.review, name="index"),
    path("review/", views.review, name="review"),
    path("review/dismiss/", views.dismiss, name="dismiss"),
    path("scan/", views.start_scan, name="scan"),
    path("scan/<int:scan_id>/progress/", views.scan_progress, name="scan-progress"),
    path("compare/<int:first_id>/<int:second_id>/", views.compare, name="compare"),
    path("merge/", views.merge, name="merge"),
    path("merges/<int:merge_id>/undo/", views.unmerge, name="unmerge"),
]
