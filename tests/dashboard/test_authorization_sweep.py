"""The authorization sweep (issue 11): every dashboard URL, export and API route, opened by
one affiliate (bob) with another's (alice's) ids, answers 404 / 403 and shows nothing of
alice's; staff pages refuse affiliates; Support sees the program dashboard but never a
payout destination.

The routes come from the URLconf (tests/dashboard/routes.py): a route the table does not
know fails `test_every_route_is_in_the_sweep`. Pages not built yet on a branch (501
placeholders of dashboard.views.pending) are skipped, not passed.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from config import urls as root_urls
from config.api import PUBLIC_READ_ROUTES
from tests.dashboard import routes
from tests.factories import AffiliateFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

# Far apart, so no sum of bob's amounts (< 40 × 13,000) can equal one of alice's.
ALICE_BASE, BOB_BASE = 918_273, 3_001


@pytest.fixture
def world(today):
    alice = AffiliateFactory(username="alice", user=UserFactory(email="alice@alice-user.test"))
    bob = AffiliateFactory(username="bob", user=UserFactory(email="bob@bob-user.test"))
    return SimpleNamespace(
        alice=routes.seed_affiliate(alice, n=3, base=ALICE_BASE, today=today),
        bob=routes.seed_affiliate(bob, n=3, base=BOB_BASE, today=today),
    )


@pytest.fixture
def as_bob(client, world):
    client.force_login(world.bob.affiliate.user)
    return client


def _staff(group_name: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    # The groups the migrations deploy (affiliates.roles.sync_roles after migrate).
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def as_support(client, world):
    client.force_login(_staff(SUPPORT, "support@example.com"))
    return client


@pytest.fixture
def as_manager(client, world):
    client.force_login(_staff(PROGRAM_MANAGER, "manager@example.com"))
    return client


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def leaked(markers: set[str], response, url: str) -> list[str]:
    """The markers found in the response (headers included: a CSV's file name, a
    redirect), leaving out what the caller itself put in the URL."""
    text = (body(response) + "\n" + "\n".join(f"{k}: {v}" for k, v in response.items())).lower()
    return sorted(m for m in markers if m.lower() in text and m.lower() not in url.lower())


def probe_query(victim: routes.Seeded) -> str:
    """Query parameters a curious affiliate adds, naming the other's rows by id (numbers and
    the public id only: echoing them back is not a leak, and they carry no username)."""
    ids = {
        "affiliate": victim.affiliate.public_id,
        "affiliate_id": victim.affiliate.pk,
        "user": victim.affiliate.user.pk,
        "referral": victim.referral.pk,
        "referral_id": victim.referral.pk,
        "pk": victim.referral.pk,
        "id": victim.referral.pk,
    }
    return urlencode(ids)


def skip_if_not_built(path: str) -> None:
    if routes.is_placeholder(path):
        pytest.skip(f"{path}: not built on this branch (pending placeholder)")


# --- the table is complete ---------------------------------------------------------------


def test_every_route_is_in_the_sweep():
    missing = routes.unclassified_routes()

    assert not missing, (
        f"Routes the authorization sweep does not know: {missing}. Add each to "
        "tests/dashboard/routes.py (AFFILIATE_PAGES, STAFF_PAGES, … or NOT_SWEPT with a reason)."
    )


def test_every_swept_name_is_a_route():
    # (NOT_SWEPT may name routes another branch adds; the swept ones must all exist.)
    names = {name for _, name, _, _ in routes.iter_routes() if name}
    swept = routes.classified_names() - set(routes.NOT_SWEPT)

    assert swept <= names, swept - names


# --- affiliate pages: another's ids → 404, nothing of theirs ----------------------------


AFFILIATE_ROUTES = {**routes.AFFILIATE_PAGES, **routes.AFFILIATE_EXPORTS}


@pytest.mark.parametrize("name", sorted(AFFILIATE_ROUTES))
def test_an_affiliate_sees_none_of_another_affiliates_rows(as_bob, world, name):
    path = reverse(name, kwargs=AFFILIATE_ROUTES[name](world.alice.owner))
    skip_if_not_built(path)
    url = f"{path}?{probe_query(world.alice)}"

    response = as_bob.get(url)

    expected = 404 if name in routes.OBJECT_PAGES else 200
    assert response.status_code == expected, (url, response.status_code)
    assert not leaked(world.alice.markers(), response, url)


@pytest.mark.parametrize("name", sorted(routes.OBJECT_PAGES))
def test_an_object_page_shows_its_owner_its_rows(client, world, name):
    # The control for the test above: the same URL shows alice her own referral, so the
    # 404 bob gets is about ownership, and the markers would be seen if they leaked.
    path = reverse(name, kwargs=AFFILIATE_ROUTES[name](world.alice.owner))
    skip_if_not_built(path)
    client.force_login(world.alice.affiliate.user)

    response = client.get(path)

    assert response.status_code == 200
    assert world.alice.referral.customer_id in body(response)


@pytest.mark.parametrize("name", sorted(routes.AFFILIATE_EXPORTS))
def test_an_export_carries_its_owners_rows(client, world, name):
    # Control: alice's own export shows her amounts (as money or minor units), so bob's
    # export above would have shown them had it leaked.
    path = reverse(name)
    skip_if_not_built(path)
    client.force_login(world.alice.affiliate.user)

    response = client.get(path)

    assert response.status_code == 200
    assert leaked(world.alice.markers(), response, path)


def test_a_referral_nobody_was_credited_for_is_not_found(as_bob, world):
    orphan = ReferralFactory(affiliate=None, customer_id="cus_orphan", source="none")
    path = reverse("dashboard-referral", kwargs={"pk": orphan.pk})
    skip_if_not_built(path)

    responses = [as_bob.get(path), as_bob.get(reverse("dashboard-referral", kwargs={"pk": 10**9}))]

    assert [r.status_code for r in responses] == [404, 404]
    assert "cus_orphan" not in body(responses[0])


@pytest.mark.parametrize("name", sorted(AFFILIATE_ROUTES))
def test_anonymous_visitors_are_sent_to_log_in(client, world, name):
    path = reverse(name, kwargs=AFFILIATE_ROUTES[name](world.alice.owner))
    skip_if_not_built(path)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_public_page_shows_no_affiliates_rows(as_bob, world):
    path = reverse("program-home")
    skip_if_not_built(path)

    response = as_bob.get(path)

    assert response.status_code == 200
    assert not leaked(world.alice.markers() | world.bob.destinations(), response, path)


def test_a_junk_paypal_confirmation_token_is_not_found(as_bob, world):
    path = reverse("payouts-paypal-confirm", kwargs={"token": "not-a-token"})

    response = as_bob.get(path)

    assert response.status_code == 404
    assert not leaked(world.alice.markers(), response, path)


# --- staff pages and exports refuse affiliates ------------------------------------------


def program_csv_tables(client) -> list[str]:
    """The tables the program page offers as CSV (its links), as a staff client sees it."""
    html = body(client.get(reverse("dashboard-program")))
    return sorted(set(routes.PROGRAM_CSV_LINK.findall(html)))


def staff_urls(tables: list[str]) -> list[str]:
    urls = [reverse(name, kwargs=kw(None)) for name, kw in routes.STAFF_PAGES.items()]
    # The tables the page links, plus one that does not exist: refused before looked up.
    urls += [
        reverse("dashboard-program-csv", kwargs={"table": t}) for t in [*tables, "no-such-table"]
    ]
    urls += [reverse("payouts-export", kwargs={"kind": k}) for k in routes.PAYOUT_EXPORT_KINDS]
    return urls


def admin_urls(alice: routes.Seeded) -> list[str]:
    """The admin home and, for every registered model, its list and (when alice has one)
    the change page of one of alice's rows."""
    from affiliates.models import Affiliate, User

    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        fields = {f.name for f in meta.get_fields()}
        qs = model._default_manager.all()
        if model is Affiliate:
            obj = alice.affiliate
        elif model is User:
            obj = alice.affiliate.user
        elif "affiliate" in fields:
            obj = qs.filter(affiliate=alice.affiliate).first()
        elif "payout" in fields:
            obj = qs.filter(payout__affiliate=alice.affiliate).first()
        elif "referral" in fields:
            obj = qs.filter(referral__affiliate=alice.affiliate).first()
        elif "payment" in fields:
            obj = qs.filter(payment__referral__affiliate=alice.affiliate).first()
        else:
            obj = None
        if obj is not None:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    return urls


def test_staff_pages_and_exports_refuse_affiliates(as_bob, world):
    tables = ["affiliates"]  # a guess; the real list needs a staff session (below)

    for url in staff_urls(tables):
        if routes.is_placeholder(url):
            continue
        response = as_bob.get(url)

        if url.startswith("/payouts/export/"):
            # staff_member_required: to the admin's login.
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url
        else:
            assert response.status_code == 403, (url, response.status_code)
        assert not leaked(world.alice.markers(), response, url), url


def test_staff_csvs_the_program_page_links_refuse_affiliates(as_support, world, client):
    url = reverse("dashboard-program-csv", kwargs={"table": "x"})
    skip_if_not_built(url)
    tables = program_csv_tables(as_support)
    as_support.logout()
    client.force_login(world.bob.affiliate.user)

    statuses = {
        t: client.get(reverse("dashboard-program-csv", kwargs={"table": t})) for t in tables
    }

    assert tables, "the program page links no CSV export"
    for table, response in statuses.items():
        assert response.status_code == 403, table
        assert not leaked(world.alice.markers(), response, table), table


def test_the_admin_refuses_affiliates(as_bob, world):
    for url in admin_urls(world.alice):
        response = as_bob.get(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
        assert not leaked(world.alice.markers(), response, url), url


@pytest.mark.parametrize("name", sorted(routes.STAFF_ACTIONS))
def test_staff_actions_refuse_affiliates(as_bob, world, name):
    url = reverse(name, kwargs=routes.STAFF_ACTIONS[name](world.alice.owner))

    response = as_bob.post(url)
    after = as_bob.get(reverse("dashboard"))

    assert response.status_code == 403
    assert not leaked(world.alice.markers(), response, url)
    # Still bob's session, not alice's.
    assert after.wsgi_request.user == world.bob.affiliate.user


def test_anonymous_visitors_are_sent_to_log_in_for_staff_pages(client, world):
    for url in staff_urls(["affiliates"]):
        if routes.is_placeholder(url):
            continue
        response = client.get(url)

        assert response.status_code == 302, url
        assert "login" in response["Location"], url


# --- Support: the program dashboard, never a payout destination --------------------------


def test_support_sees_the_program_dashboard_and_its_csvs_without_destinations(as_support, world):
    destinations = world.alice.destinations() | world.bob.destinations()
    tables = program_csv_tables(as_support)

    pages = {
        url: as_support.get(url)
        for url in staff_urls(tables)
        if not url.startswith("/payouts/export/")
        and "no-such-table" not in url
        and not routes.is_placeholder(url)
    }

    assert pages, "no staff page is built"
    for url, response in pages.items():
        assert response.status_code == 200, (url, response.status_code)
        assert not leaked(destinations, response, url), url


def test_support_may_not_export_payout_destinations(as_support, world):
    for kind in routes.PAYOUT_EXPORT_KINDS:
        url = reverse("payouts-export", kwargs={"kind": kind})

        response = as_support.get(url)

        assert response.status_code == 403, url
        assert not leaked(world.alice.destinations(), response, url)


def test_a_program_manager_exports_the_destinations(as_manager, world):
    # Control: the export does carry destinations (alice's pending payout), so Support's
    # 403 above hides something real, and the marker is recognisable.
    url = reverse("payouts-export", kwargs={"kind": "paypal"})

    response = as_manager.get(url)

    assert response.status_code == 200
    assert world.alice.paypal_email in body(response)


def test_support_sees_no_payout_destination_in_the_admin(as_support, world):
    destinations = world.alice.destinations()

    for url in admin_urls(world.alice):
        response = as_support.get(url)

        assert response.status_code in (200, 302, 403), (url, response.status_code)
        assert not leaked(destinations, response, url), url


# --- the API: no session of an affiliate reaches it --------------------------------------


def api_routes(owner: routes.Owner) -> list[tuple[str, str]]:
    """(name, path) of every /api/v1/ route, its path parameters filled with owner's ids."""
    found = []
    for route, name, _, pattern in routes.iter_routes(root_urls.api_v1, "api/v1/"):
        params = list(pattern.pattern.regex.groupindex)
        unknown = [p for p in params if p not in routes.API_KWARGS]
        assert not unknown, (
            f"{route}: teach the sweep to fill {unknown} (tests/dashboard/routes.API_KWARGS)"
        )
        path = reverse(name, kwargs={p: routes.API_KWARGS[p](owner) for p in params})
        found.append((name, path))
    assert found
    return found


def api_payload(victim: routes.Seeded) -> dict[str, object]:
    return {
        "affiliate": victim.affiliate.public_id,
        "username": victim.affiliate.username,
        "customer_id": victim.referral.customer_id,
        "payment_id": "in_sweep",
        "amount": 100,
        "currency": "USD",
        "url": "https://example.com/",
        "link": "/pricing/",
    }


def test_the_api_refuses_an_affiliates_session(as_bob, world):
    for name, path in api_routes(world.alice.owner):
        for method in ("get", "post", "put", "patch", "delete"):
            url = f"{path}?{probe_query(world.alice)}"

            response = (
                getattr(as_bob, method)(
                    url, data=api_payload(world.alice), content_type="application/json"
                )
                if method != "get"
                else as_bob.get(url)
            )

            # A public read (config.api.PUBLIC_READ_ROUTES: the marketing site's testimonials)
            # answers anyone, still with none of alice's rows; every write is refused.
            public = name in PUBLIC_READ_ROUTES and method == "get"
            assert response.status_code == (200 if public else 403), (name, method)
            assert not leaked(world.alice.markers(), response, url), (name, method)


def test_the_api_refuses_anonymous_calls(client, world):
    for name, path in api_routes(world.alice.owner):
        response = client.get(f"{path}?{probe_query(world.alice)}")

        expected = (200,) if name in PUBLIC_READ_ROUTES else (401, 403)
        assert response.status_code in expected, (name, response.status_code)
        assert not leaked(world.alice.markers(), response, path), name


def test_the_api_with_a_key_answers_for_the_owner(api, world):
    # Control: the ids the sweep fills in are real (a key holder reads alice's affiliate).
    path = dict(api_routes(world.alice.owner))["api-affiliate"]

    response = api.get(path)

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_supports_api_reads_carry_no_payout_destination(as_support, world):
    destinations = world.alice.destinations()
    session = APIClient()
    session.cookies = as_support.cookies

    for name, path in api_routes(world.alice.owner):
        url = f"{path}?affiliate={world.alice.affiliate.public_id}"

        response = session.get(url)

        assert response.status_code in (200, 400, 403), (name, response.status_code)
        assert not leaked(destinations, response, url), name
