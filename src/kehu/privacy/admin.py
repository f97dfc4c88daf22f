"""Admin for the audit log: read-only and undeletable (append-only by design)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from kehu.privacy.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "ip_address", "via")
    list_filter = ("action", "object_type", "via")
    search_fields = ("actor_label", "object_id")
    date_hierarchy = "at"
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, object]:
        return {}
