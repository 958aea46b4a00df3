"""Admin for the creatives (banners and logos): Program managers upload them, Support reads
(affiliates.roles gives every tracking model to both groups). Registered by the one import at
the end of tracking/admin.py."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from tracking.models import Creative


@admin.register(Creative)
class CreativeAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "name", "size", "target_path", "is_active", "created_at"]
    list_display_links = ["thumbnail", "name"]
    list_filter = ["is_active"]
    search_fields = ["name", "alt_text", "target_path"]
    readonly_fields = ["preview", "size", "created_at"]
    fields = [
        "name",
        "image",
        "preview",
        "size",
        "alt_text",
        "target_path",
        "is_active",
        "created_at",
    ]
    ordering = ["-created_at"]

    @admin.display(description="Image")
    def thumbnail(self, obj: Creative) -> str:
        return format_html(
            '<img src="{}" alt="" style="max-width:120px;max-height:60px">', obj.image.url
        )

    @admin.display(description="Preview")
    def preview(self, obj: Creative) -> str:
        if not obj.pk:
            return "—"
        return format_html(
            '<img src="{}" alt="{}" style="max-width:100%;height:auto">',
            obj.image.url,
            obj.alt_text,
        )

    @admin.display(description="Size (px)")
    def size(self, obj: Creative) -> str:
        return f"{obj.width} × {obj.height}" if obj.pk else "—"
