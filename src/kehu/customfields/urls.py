"""URLs of the custom-field settings pages (under /settings/fields/)."""

from django.urls import path

from kehu.customfields import views

urlpatterns = [
    path("", views.field_list, name="customfield-list"),
    path("new/", views.field_create, name="customfield-create"),
    path("<int:field_id>/", views.field_edit, name="customfield-edit"),
    path("<int:field_id>/move/", views.field_move, name="customfield-move"),
    path("<int:field_id>/active/", views.field_set_active, name="customfield-set-active"),
]
