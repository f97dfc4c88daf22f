"""URLs of the order pages."""

from django.urls import path

from kehu.commerce import views

urlpatterns = [
    path("<int:order_id>/", views.order_detail, name="order-detail"),
]
