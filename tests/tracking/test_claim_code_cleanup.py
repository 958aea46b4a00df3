"""Claim codes (mobile installs): the daily clean-up deletes the codes that expired more than
30 days ago, used or not, and nothing younger; staff read them in the admin and nobody adds,
edits or deletes one there."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from tests.factories import AffiliateFactory, UserFactory
from tracking.models import ClaimCode
from tracking.services.claim_codes import PURGE_AFTER_EXPIRY, purge_expired_claim_codes
from tracking.tasks import purge_old_clicks_task

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 3, 3, 37, tzinfo=UTC)


def _code(code: str, *, expired_days_ago: float, used: bool = False, affiliate=None):
    expires_at = NOW - timedelta(days=expired_days_ago)
    return ClaimCode.objects.create(
        code=code,
        affiliate=affiliate or AffiliateFactory(),
        created_at=expires_at - timedelta(days=7),
        expires_at=expires_at,
        used_at=expires_at - timedelta(days=1) if used else None,
        customer_id="cus_used" if used else "",
    )


def test_the_daily_clean_up_deletes_codes_expired_more_than_30_days_ago():
    assert PURGE_AFTER_EXPIRY == timedelta(days=30)
    _code("AAAAAAAA", expired_days_ago=31)  # unused, long expired: goes
    _code("BBBBBBBB", expired_days_ago=31, used=True)  # spent, long expired: goes
    _code("CCCCCCCC", expired_days_ago=30)  # exactly at the cutoff: stays
    _code("DDDDDDDD", expired_days_ago=29)  # expired lately: stays (an app is told "expired")
    _code("EEEEEEEE", expired_days_ago=-5)  # still valid: stays

    purge_old_clicks_task(now=NOW.isoformat())

    left = set(ClaimCode.objects.values_list("code", flat=True))
    assert left == {"CCCCCCCC", "DDDDDDDD", "EEEEEEEE"}


def test_the_clean_up_is_idempotent_and_works_in_batches():
    affiliate = AffiliateFactory()
    for i in range(5):
        _code(f"Q{i}QQQQQQ", expired_days_ago=40, affiliate=affiliate)
    _code("KEEPKEEP", expired_days_ago=1, affiliate=affiliate)

    first = purge_expired_claim_codes(now=NOW, batch_size=2)
    again = purge_expired_claim_codes(now=NOW, batch_size=2)

    assert (first, again) == (5, 0)
    assert list(ClaimCode.objects.values_list("code", flat=True)) == ["KEEPKEEP"]


def _staff(client, group: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.mark.parametrize("group", [SUPPORT, PROGRAM_MANAGER])
def test_staff_read_claim_codes_in_the_admin_but_cannot_add_edit_or_delete(client, group):
    code = _code("ZXCVBNM2", expired_days_ago=-3, used=True)
    _staff(client, group, f"{group.split()[0].lower()}@example.com")

    listing = client.get(reverse("admin:tracking_claimcode_changelist"))
    page = client.get(reverse("admin:tracking_claimcode_change", args=[code.pk]))
    add = client.get(reverse("admin:tracking_claimcode_add"))
    delete = client.get(reverse("admin:tracking_claimcode_delete", args=[code.pk]))
    posted = client.post(
        reverse("admin:tracking_claimcode_change", args=[code.pk]), {"code": "HACKED22"}
    )

    assert listing.status_code == 200 and "ZXCVBNM2" in listing.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "cus_used" in html and 'name="code"' not in html
    assert add.status_code == 403 and delete.status_code == 403
    assert posted.status_code == 403
    code.refresh_from_db()
    assert code.code == "ZXCVBNM2"


def test_affiliates_cannot_open_the_claim_code_admin(client):
    client.force_login(AffiliateFactory().user)

    response = client.get(reverse("admin:tracking_claimcode_changelist"))

    assert response.status_code == 302 and "/login/" in response["Location"]
