"""URL map of the web UI: home, search, and the pages of the accounts, customers and commerce apps."""

from django.urls import include, path

from kehu.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/live/", views.search_live, name="search-live"),
    path("accounts/", include("kehu.accounts.urls")),
    path("customers/", include("kehu.customers.urls")),
    path("orders/", include("kehu.commerce.urls")),
]
