"""/admin/emails/: behind the admin's own login and staff check (admin.site.admin_view)."""

from django.contrib import admin
from django.urls import path

from emails import admin_views

urlpatterns = [
    path("", admin.site.admin_view(admin_views.email_list), name="admin-emails"),
    path(
        "<slug:name>/",
        admin.site.admin_view(admin_views.email_preview),
        name="admin-email-preview",
    ),
]
