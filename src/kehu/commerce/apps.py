from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "kehu.commerce"
