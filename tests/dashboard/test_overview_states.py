"""What an applicant, a rejected applicant and a suspended affiliate see at /dashboard/."""

import pytest

from affiliates.models import Affiliate
from tests.factories import AffiliateFactory

pytestmark = pytest.mark.django_db

Status = Affiliate.Status


def test_an_applicant_sees_the_review_page_not_zeros_or_links(client, settings):
    settings.SITE_URL = "https://example.com"
    ann = AffiliateFactory(
        username="ann",
        status=Status.APPLIED,
        approved_at=None,
        website="https://ann.example",
        promotion="A tutorial series",
    )
    client.force_login(ann.user)

    response = client.get("/dashboard/")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "dashboard/applicant.html"
    html = response.content.decode()
    assert "Your application is under review" in html
    assert "Please do not share links yet." in html
    assert "https://ann.example" in html and "A tutorial series" in html
    assert ann.user.email in html
    # No figures and no share link that would not track yet.
    for absent in ('id="total-clicks"', "https://example.com/ann", 'id="balances"', "<svg"):
        assert absent not in html


def test_a_rejected_applicant_sees_the_decision_and_its_note(client):
    rob = AffiliateFactory(status=Status.REJECTED, status_note="No website yet.")
    client.force_login(rob.user)

    html = client.get("/dashboard/").content.decode()

    assert "Your application was not approved" in html
    assert "Note: No website yet." in html
    assert 'id="total-clicks"' not in html


def test_a_suspended_affiliate_sees_its_figures_under_a_notice(client):
    sam = AffiliateFactory(status=Status.SUSPENDED, status_note="Bid on the brand name.")
    client.force_login(sam.user)

    html = client.get("/dashboard/").content.decode()

    assert 'id="suspended"' in html
    assert "Your account is suspended." in html and "Note: Bid on the brand name." in html
    assert 'id="total-clicks"' in html
    # The payout card names the hold the run would apply.
    assert "affiliate is suspended: payouts held" in html


def test_an_approved_affiliate_sees_no_notice_and_a_link_to_the_links_page(client, settings):
    settings.SITE_URL = "https://example.com"
    alice = AffiliateFactory(username="alice")
    client.force_login(alice.user)

    html = client.get("/dashboard/").content.decode()

    assert 'id="suspended"' not in html
    assert 'href="/dashboard/links/"' in html
    assert 'data-copy="https://example.com/alice"' in html
    # The four fixed example links are gone (the Links page replaces them).
    assert "https://example.com/blog/some-post/alice" not in html
    assert "https://example.com/pricing?ref=alice" not in html
