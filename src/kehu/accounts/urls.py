"""URLs of the login and logout pages."""

from django.urls import path

from kehu.accounts import views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
]
