"""Pages: sign up, log in (rate-limited), password reset, apply, terms, settings, escaping."""

import pytest
from django.core import mail
from django.http import HttpResponse
from django.test import RequestFactory

from affiliates.access import affiliate_required, refuse_when_impersonating
from affiliates.models import Affiliate, User
from tests.factories import AffiliateFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_signing_up_logs_in_and_leads_to_the_application(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "New@Example.org", "password1": "a-long-pass-99", "password2": "a-long-pass-99"},
    )

    assert response.status_code == 302 and response["Location"] == "/apply/"
    user = User.objects.get(email="new@example.org")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signing_up_twice_with_one_email_is_refused(client):
    UserFactory(email="taken@example.org")

    response = client.post(
        "/accounts/signup/",
        {
            "email": "taken@example.org",
            "password1": "a-long-pass-99",
            "password2": "a-long-pass-99",
        },
    )

    assert response.status_code == 200
    assert b"already exists" in response.content


def test_the_apply_page_sends_anonymous_visitors_to_sign_up_first(client):
    response = client.get("/apply/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/signup/?next=/apply/")


def test_an_application_is_saved_as_applied(client):
    client.force_login(UserFactory(email="a@example.org"))

    response = client.post(
        "/apply/",
        {"username": "GoodName", "website": "https://blog.test", "accept_terms": "on"},
    )

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    affiliate = Affiliate.objects.get(user__email="a@example.org")
    assert (affiliate.username, affiliate.status) == ("goodname", Affiliate.Status.APPLIED)


@pytest.mark.parametrize(
    ("username", "rule"),
    [
        ("<script>alert(1)</script>", b"only letters a-z"),
        ("pricing", b"is reserved"),
        ("a1", b"3 to 30"),
    ],
)
def test_a_bad_username_shows_the_rule_and_saves_nothing(client, username, rule):
    client.force_login(UserFactory())

    response = client.post("/apply/", {"username": username, "accept_terms": "on"})

    assert response.status_code == 200
    assert rule in response.content
    assert b"<script>alert" not in response.content
    assert not Affiliate.objects.exists()


def test_applying_without_accepting_the_terms_is_refused(client):
    client.force_login(UserFactory())

    response = client.post("/apply/", {"username": "goodname"})

    assert b"You must accept the program terms" in response.content
    assert not Affiliate.objects.exists()


def test_the_terms_forbid_paid_ads_on_the_brand(client):
    response = client.get("/terms/")

    assert response.status_code == 200
    assert b"paid ads on our brand" in response.content


def test_login_works_through_the_form_and_is_locked_after_repeated_failures(client, settings):
    UserFactory(email="a@example.org")  # password "pass-1234-word"
    settings.AXES_FAILURE_LIMIT = 3

    ok = client.post(
        "/accounts/login/", {"username": "a@example.org", "password": "pass-1234-word"}
    )
    client.post("/accounts/logout/")
    failures = [
        client.post("/accounts/login/", {"username": "a@example.org", "password": "wrong"})
        for _ in range(3)
    ]
    locked = client.post(
        "/accounts/login/", {"username": "a@example.org", "password": "pass-1234-word"}
    )

    assert ok.status_code == 302 and ok["Location"] == "/dashboard/"
    assert [f.status_code for f in failures[:2]] == [200, 200]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_a_link_that_sets_a_new_password(
    client, django_capture_on_commit_callbacks
):
    UserFactory(email="a@example.org")

    with django_capture_on_commit_callbacks(execute=True):  # the mail is queued on commit
        client.post("/accounts/password_reset/", {"email": "a@example.org"})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    form_page = client.get(link.strip(), follow=True)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-pass-7", "new_password2": "brand-new-pass-7"},
    )

    assert done.status_code == 302
    assert User.objects.get(email="a@example.org").check_password("brand-new-pass-7")


@pytest.mark.django_db(transaction=True)
def test_password_reset_with_smtp_down_answers_normally_and_the_mail_is_retried(client, settings):
    # given a user, and an SMTP server that refuses connections (a port nobody listens on)
    import socket

    from celery.exceptions import Retry
    from celery.signals import task_retry

    UserFactory(email="a@example.org")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    retries = []
    record = lambda sender=None, reason=None, **kw: retries.append(reason)  # noqa: E731
    task_retry.connect(record, weak=False)

    # when the user asks for a reset link
    try:
        response = client.post("/accounts/password_reset/", {"email": "a@example.org"})
    finally:
        task_retry.disconnect(record)

    # then the page answers as usual (Django inlined the send: a 500), and the worker retries
    assert response.status_code == 302
    assert retries and all(isinstance(r, Retry) for r in retries)


def test_the_dashboard_needs_a_login(client):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_dashboard_shows_status_username_aliases_and_share_links(client, now, settings):
    from affiliates.services import change_username

    settings.SITE_URL = "https://example.com"
    affiliate = AffiliateFactory(username="firstname")
    change_username(affiliate=affiliate, new_username="secondname", now=now)
    client.force_login(affiliate.user)

    page = client.get("/dashboard/").content.decode()

    assert "Approved" in page
    assert "secondname" in page and "firstname" in page
    # The home link (the Links page builds one for any page of the site).
    assert "https://example.com/secondname" in page
    assert "/dashboard/links/" in page


def test_a_stored_hostile_username_is_escaped_on_every_page(client):
    # Such a name cannot pass validation; this proves templates escape even if one got in.
    affiliate = AffiliateFactory(username="<script>x</script>/a")
    client.force_login(affiliate.user)

    for url in ("/dashboard/", "/settings/"):
        page = client.get(url).content

        assert b"<script>x</script>" not in page
        assert b"&lt;script&gt;x&lt;/script&gt;/a" in page


def test_the_settings_page_changes_the_username(client):
    affiliate = AffiliateFactory(username="before")
    client.force_login(affiliate.user)

    response = client.post("/settings/", {"username": "after"})

    assert response.status_code == 302
    affiliate.refresh_from_db()
    assert affiliate.username == "after"


def test_the_settings_page_names_the_rule_for_a_look_alike(client):
    AffiliateFactory(username="alice")
    affiliate = AffiliateFactory(username="bobby")
    client.force_login(affiliate.user)

    response = client.post("/settings/", {"username": "a1ice"})

    assert b"looks too much like an existing username" in response.content
    affiliate.refresh_from_db()
    assert affiliate.username == "bobby"


def test_affiliate_required_sends_users_without_a_profile_to_the_application(client):
    client.force_login(UserFactory())

    response = client.get("/dashboard/")

    assert response.status_code == 302 and response["Location"] == "/apply/"


def test_refuse_when_impersonating_answers_403_only_while_impersonating(client):
    affiliate = AffiliateFactory()

    @affiliate_required
    @refuse_when_impersonating
    def payout_details(request):
        return HttpResponse("form")

    request = RequestFactory().get("/payout-details/")
    request.user = affiliate.user
    request.session = {}
    assert payout_details(request).status_code == 200

    request.session = {"impersonator_id": 1}
    refused = payout_details(request)

    assert refused.status_code == 403
    assert b"logged in as an affiliate" in refused.content


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/terms/"]
)
def test_public_pages_render_with_a_csrf_protected_form_where_they_have_one(client, url):
    response = client.get(url)

    assert response.status_code == 200
    if url != "/terms/":
        assert b"csrfmiddlewaretoken" in response.content


def test_a_post_without_the_csrf_token_is_refused():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "a@example.org", "password": "x"}
    )

    assert response.status_code == 403


def test_login_ignores_the_case_of_the_email(client):
    UserFactory(email="mixed@example.org")  # stored lowercase, as every service stores it

    response = client.post(
        "/accounts/login/", {"username": " Mixed@Example.ORG", "password": "pass-1234-word"}
    )

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.session["_auth_user_id"] == str(User.objects.get(email="mixed@example.org").pk)


def test_the_admin_login_ignores_the_case_of_the_email(client):
    UserFactory(email="staff@example.org", is_staff=True)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "STAFF@example.org", "password": "pass-1234-word", "next": "/admin/"},
    )

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_lockout_counts_every_spelling_of_one_email(client, settings):
    UserFactory(email="a@example.org")
    settings.AXES_FAILURE_LIMIT = 3

    for spelling in ("a@example.org", "A@example.org", "a@EXAMPLE.ORG"):
        client.post("/accounts/login/", {"username": spelling, "password": "wrong"})
    locked = client.post(
        "/accounts/login/", {"username": "A@Example.Org", "password": "pass-1234-word"}
    )

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_settings_page_explains_the_rename_limit(client, settings):
    settings.USERNAME_CHANGE_LIMIT = 1
    affiliate = AffiliateFactory(username="first")
    client.force_login(affiliate.user)
    assert client.post("/settings/", {"username": "second"}).status_code == 302

    response = client.post("/settings/", {"username": "third"})

    assert response.status_code == 200
    assert b"You can change your username 1 time in 30 days" in response.content
    affiliate.refresh_from_db()
    assert affiliate.username == "second"
