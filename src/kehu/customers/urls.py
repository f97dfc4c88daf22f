"""URLs of the customer pages."""

from django.urls import path

from kehu.customers import views

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("new/", views.customer_create, name="customer-create"),
    path("bulk-tag/", views.customer_bulk_tag, name="customer-bulk-tag"),
    path("<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:customer_id>/notes/", views.customer_add_note, name="customer-add-note"),
    path("<int:customer_id>/reveal/", views.customer_reveal, name="customer-reveal"),
]
