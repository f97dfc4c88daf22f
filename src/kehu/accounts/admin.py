"""Admin for staff: users with their role and stores; API tokens are read-only (issued by command)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kehu.accounts.models import ApiToken, User


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ("username", "get_full_name", "role", "is_active", "is_staff", "last_login")
    list_filter = ("role", "is_active", "is_staff", "stores")
    filter_horizontal = ("stores", "groups", "user_permissions")
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Role and store scope"), {"fields": ("role", "stores")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (_("Role and store scope"), {"fields": ("role", "stores")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
