from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kehu.accounts"
    verbose_name = "Staff and roles"
