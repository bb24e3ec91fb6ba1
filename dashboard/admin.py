from django.contrib import admin
from django.http import HttpRequest

from dashboard.models import Release, ReleaseFile


class ReleaseFileInline(admin.TabularInline[ReleaseFile, Release]):
    model = ReleaseFile
    extra = 0
    can_delete = False
    readonly_fields = ["name", "table", "format", "size_bytes", "sha256", "rows"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin[Release]):
    """Read-only: releases are built by `manage.py release` or the daily task."""

    list_display = ["name", "built_at", "previous"]
    readonly_fields = ["name", "built_at", "previous", "rows", "changes"]
    inlines = [ReleaseFileInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
