"""URLs of the order pages."""

from django.urls import path

from kehu.commerce import views

urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("<int:order_id>/", views.order_detail, name="order-detail"),
]
