"""The payout settings page under bad input and a mail outage: every field bounded and
free of control characters (a form error, nothing written, never a 500), and a saved change
stays saved, held and audited when SMTP is down."""

import socket

import pytest
from celery.exceptions import Retry
from celery.signals import task_retry
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from affiliates.models import AuditLog
from payouts.models import PayoutAccount
from tests.factories import AffiliateFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pass-1234-word"

# Valid posts for each section of the page; the sweep spoils one field at a time.
VALID = {
    "paypal": {"paypal_email": "new@paypal.test", "password": PASSWORD},
    "manual": {"bank_details": "IBAN DE00 1234\nBIC ABCDEFXX", "password": PASSWORD},
    "stripe": {"password": PASSWORD},
    "tax": {
        "tax_legal_name": "Ada Lovelace",
        "tax_country": "GB",
        "tax_id": "123-45",
        "tax_form": "w8ben",
        "password": PASSWORD,
    },
}
# Each field's limit: its column, or ours where the column has none (bank details, password).
LIMITS = {
    "paypal_email": 254,
    "bank_details": 1000,
    "password": 4096,
    "tax_legal_name": 200,
    "tax_country": 2,
    "tax_id": 64,
}
MULTILINE = {"bank_details"}
FIELDS = [(action, name) for action, data in VALID.items() for name in data]

# C0/C1 controls and invisible format characters (bidi overrides, zero-width, BOM).
controls = st.characters(categories=["Cc", "Cf"])
visible = st.characters(categories=["L", "N"])


@st.composite
def spoiled_post(draw):
    action, name = draw(st.sampled_from(FIELDS))
    data = {"action": action, **VALID[action]}
    value = data[name]
    if name == "tax_form":
        data[name] = draw(st.text(max_size=20).filter(lambda v: v not in dict(_tax_forms())))
        return data
    kind = draw(st.sampled_from(["too_long", "control"]))
    if kind == "too_long":
        extra = draw(st.text(visible, min_size=1, max_size=50))
        filler = "a" * (LIMITS[name] + 1)
        data[name] = filler + extra + ("@example.org" if name == "paypal_email" else "")
    else:
        allowed = {"\n", "\r", "\t"} if name in MULTILINE else set()
        char = draw(controls.filter(lambda c: c not in allowed))
        at = draw(st.integers(0, len(value)))
        data[name] = value[:at] + char + value[at:]
    return data


def _tax_forms():
    return PayoutAccount.TaxForm.choices


def snapshot(account):
    return PayoutAccount.objects.values().get(pk=account.pk)


@pytest.fixture
def logged_in(client):
    affiliate = AffiliateFactory()
    account = PayoutAccountFactory(affiliate=affiliate, paypal_email="owner@paypal.test")
    client.force_login(affiliate.user)
    return client, account


@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(post=spoiled_post())
def test_every_bad_settings_value_is_a_form_error_and_changes_nothing(logged_in, post):
    client, account = logged_in
    before, audits = snapshot(account), AuditLog.objects.count()

    response = client.post("/payouts/settings/", post)

    assert response.status_code == 400, post
    assert snapshot(account) == before
    assert AuditLog.objects.count() == audits


def test_each_valid_section_still_saves(logged_in, django_capture_on_commit_callbacks):
    client, account = logged_in

    for action in ("paypal", "manual", "tax"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/payouts/settings/", {"action": action, **VALID[action]})
        assert response.status_code == 302, action

    account.refresh_from_db()
    assert (account.method, account.bank_details, account.tax_country) == (
        "manual",
        "IBAN DE00 1234\nBIC ABCDEFXX",
        "GB",
    )


@pytest.mark.parametrize(
    "address", ["new@paypal.test\r\nBcc: all@example.org", "new@paypal.test\n", "new@@paypal"]
)
def test_a_crlf_or_invalid_paypal_address_is_refused(logged_in, address):
    client, account = logged_in

    response = client.post(
        "/payouts/settings/",
        {"action": "paypal", "paypal_email": address, "password": PASSWORD},
    )

    assert response.status_code == 400
    assert snapshot(account)["paypal_email"] == "owner@paypal.test"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_bank_details_change_with_smtp_down_is_saved_held_audited_and_the_mail_retried(
    client, settings
):
    # given an affiliate, and an SMTP server that refuses connections
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    retries = []
    record = lambda sender=None, reason=None, **kw: retries.append(reason)  # noqa: E731
    task_retry.connect(record, weak=False)

    # when it saves bank details (a real commit: the view runs in autocommit)
    try:
        response = client.post(
            "/payouts/settings/",
            {"action": "manual", "bank_details": "IBAN DE00 1234", "password": PASSWORD},
        )
    finally:
        task_retry.disconnect(record)

    # then the answer is the normal redirect, and the change is saved, held and audited
    assert response.status_code == 302
    account = PayoutAccount.objects.get(affiliate=affiliate)
    assert (account.method, account.bank_details) == ("manual", "IBAN DE00 1234")
    assert account.details_changed_at is not None  # the 48 h hold runs from here
    assert AuditLog.objects.filter(action="payout_details_changed", affiliate=affiliate).exists()
    # and the takeover warning was not lost: its task asked to be retried
    assert retries and all(isinstance(r, Retry) for r in retries)
