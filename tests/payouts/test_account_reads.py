"""Pages read the payout account and never create it: the row appears with the
affiliate's first write of payout details (payouts.services.accounts)."""

import pytest

from payouts import selectors
from payouts.models import PayoutAccount
from tests.factories import AffiliateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def affiliate_client(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)
    client.affiliate = affiliate
    return client


def test_the_settings_page_of_an_affiliate_without_an_account_creates_none(affiliate_client):
    page = affiliate_client.get("/payouts/settings/")

    assert page.status_code == 200
    assert b"no payout method set" in page.content
    assert not PayoutAccount.objects.exists()


def test_the_stripe_return_page_creates_no_account(affiliate_client):
    response = affiliate_client.get("/payouts/stripe/return/")

    assert response.status_code == 302
    assert not PayoutAccount.objects.exists()


def test_the_account_selector_returns_an_unsaved_empty_account():
    affiliate = AffiliateFactory()

    account = selectors.payout_account(affiliate=affiliate)

    assert account.pk is None and account.method == PayoutAccount.Method.NONE
    assert not PayoutAccount.objects.exists()
