"""Included LAST at the root (config/urls.py): these patterns catch what nothing else served.
(The /r/ redirect has its own prefix and is routed first, in config/urls.py.)

The root short link matches the username charset only (affiliates.usernames: a-z, 0-9, `-`,
`_`; any case, the resolver lowercases): `/favicon.ico`, `/robots.txt`, `/wp-login.php` are
not usernames and get a plain 404 instead of a redirect to the marketing site.
"""

from django.urls import re_path

from tracking import views

urlpatterns = [
    re_path(r"^(?P<username>[A-Za-z0-9_-]+)\Z", views.short_link, name="short-link"),
    re_path(r"^(?P<username>[A-Za-z0-9_-]+)/\Z", views.short_link, name="short-link-slash"),
]
