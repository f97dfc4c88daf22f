from django.urls import path

from kehu.sales import views

urlpatterns = [
    path("", views.index, name="sales"),
    path("store-sales/", views.store_sales, name="sales-store-sales"),
    path("store-sales/save", views.save_store_sales, name="sales-store-sales-save"),
    path("targets/", views.targets, name="sales-targets"),
    path("targets/save", views.save_targets, name="sales-targets-save"),
]
