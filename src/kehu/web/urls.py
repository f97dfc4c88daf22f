from django.urls import path

from kehu.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
