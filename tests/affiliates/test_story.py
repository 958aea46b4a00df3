"""The issue's "Done when", end to end through the pages and the admin."""

import pytest
from django.core import mail
from django.test import Client

from affiliates.models import Affiliate
from affiliates.selectors import resolve_username

pytestmark = pytest.mark.django_db


def test_apply_get_approved_in_admin_log_in_rename_twice_and_every_name_resolves(
    manager_client, django_capture_on_commit_callbacks
):
    # Given a new person who signs up and applies (in a browser of its own)
    client = Client()
    client.post(
        "/accounts/signup/",
        {"email": "nora@example.org", "password1": "nora-pass-2026", "password2": "nora-pass-2026"},
    )
    client.post(
        "/apply/",
        {"username": "nora-reviews", "promotion": "YouTube reviews", "accept_terms": "on"},
    )
    affiliate = Affiliate.objects.get(user__email="nora@example.org")
    assert affiliate.status == Affiliate.Status.APPLIED
    client.post("/accounts/logout/")

    # When a program manager bulk-approves in Django admin
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            "/admin/affiliates/affiliate/",
            {"action": "approve_selected", "_selected_action": [affiliate.pk]},
        )

    # Then the affiliate is approved and e-mailed
    affiliate.refresh_from_db()
    assert affiliate.status == Affiliate.Status.APPROVED
    approval = mail.outbox[-1]
    assert approval.to == ["nora@example.org"] and "approved" in approval.subject

    # When the affiliate logs in (through the rate-limited form) and renames itself twice
    login = client.post(
        "/accounts/login/", {"username": "nora@example.org", "password": "nora-pass-2026"}
    )
    assert login.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/settings/", {"username": "nora-tech"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/settings/", {"username": "Nora"})

    # Then all three usernames resolve to it, the current one being "nora"
    for name in ("nora-reviews", "nora-tech", "nora"):
        resolved = resolve_username(name)
        assert resolved is not None, name
        assert (resolved.public_id, resolved.username) == (affiliate.public_id, "nora")
        assert resolved.is_approved
    assert b"nora-reviews" in client.get("/dashboard/").content
