"""Testimonials: the sanitizer against XSS payloads (a list and generated text), the public
list (approved only, cacheable, CORS for SITE_HOSTS), the import API, the dashboard page and
approval in the admin."""

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affiliates.models import Testimonial as Quote
from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from affiliates.testimonials import ALLOWED_URL_SCHEMES, render_testimonial
from tests.factories import AffiliateFactory, UserFactory

URL = "/api/v1/testimonials"


class _Tags(HTMLParser):
    """Every (tag, attrs) of an HTML fragment, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_only_allowed(html: str) -> None:
    assert "<script" not in html.lower()
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in {"p", "em", "strong", "a"}, (tag, html)
        for name in attrs:
            assert not name.startswith("on"), (name, html)
            assert name in {"href", "rel"} and tag == "a", (tag, name, html)
        if "href" in attrs:
            scheme = (attrs["href"] or "").split(":", 1)[0].strip().lower()
            assert ":" in attrs["href"] and scheme in ALLOWED_URL_SCHEMES, html
        if tag == "a":
            assert attrs.get("rel") == "nofollow sponsored", html


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "![x](javascript:alert(1))",
    "![x](https://evil.test/pixel.png)",
    '<a href="#" onclick="alert(1)">click</a>',
    "<p onmouseover=alert(1)>hover</p>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](java\tscript:alert(1))",
    '<a href="jav&#x61;script:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "[x](vbscript:msgbox(1))",
    '<a href="VBScript:msgbox(1)">x</a>',
    "[x][1]\n\n[1]: javascript:alert(1)",
    '<iframe src="https://evil.test"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="https://evil.test/x.swf">',
    '<form action="https://evil.test"><input name=p><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<link rel=stylesheet href=https://evil.test/x.css>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<!--<script>alert(1)</script>-->",
    '<a href="https://ok.test" target=_blank rel=opener>x</a>',
    "`<script>` in code and <div>a div</div>",
    "*<img src=x onerror=alert(1)>*",
    '[**x**](https://ok.test "title" onclick=alert(1))',
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_xss_payload_passes_the_sanitizer(payload):
    html = render_testimonial(payload)

    assert_only_allowed(html)
    for word in ("<img", "<iframe", "<svg", "<style", "<object", "<embed", "<form", "<math"):
        assert word not in html.lower()


def test_markdown_emphasis_paragraphs_and_links_survive():
    html = render_testimonial("*Great* **product**.\n\nSee [my site](https://me.test/).")

    assert html == (
        "<p><em>Great</em> <strong>product</strong>.</p>\n"
        '<p>See <a href="https://me.test/" rel="nofollow sponsored">my site</a>.</p>'
    )


_fragments = st.sampled_from(
    [
        "<script>",
        "</script>",
        "<img src=x ",
        "onerror=",
        'onclick="',
        "javascript:",
        "JaVaScRiPt:",
        "&#106;",
        "&#x6A;",
        "data:",
        "vbscript:",
        "<svg ",
        '<a href="',
        '">',
        "[x](",
        ")",
        "![",
        "<",
        ">",
        '"',
        "'",
        "`",
        "\n\n",
        "*",
        "**",
        "&",
        "<iframe ",
        "<style>",
        "=",
        " ",
        "<!--",
        "-->",
        "\x00",
        "\t",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_fragments | st.text(max_size=8), max_size=30).map("".join))
def test_for_any_text_no_script_handler_or_javascript_link_passes(text):
    html = render_testimonial(text)

    assert_only_allowed(html)


# --- the public list -------------------------------------------------------------------


@pytest.fixture
def listed(db):
    now = timezone.now()
    shown = AffiliateFactory(username="alice")
    hidden = AffiliateFactory(username="bob")
    Quote.objects.create(
        affiliate=shown,
        text="I *love* it <script>alert(1)</script>",
        website="https://alice.test/",
        approved=True,
        approved_at=now,
    )
    Quote.objects.create(affiliate=hidden, text="pending one")
    return shown, hidden


def test_only_approved_testimonials_are_listed_with_sanitized_html(client, listed):
    response = client.get(URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["affiliate"] for r in results] == ["alice"]
    assert results[0]["website"] == "https://alice.test/"
    assert results[0]["html"] == "<p>I <em>love</em> it </p>"


def test_a_suspended_affiliates_testimonial_is_not_listed(client, listed):
    shown, _ = listed
    shown.status = shown.Status.SUSPENDED
    shown.save()

    assert client.get(URL).json()["results"] == []


def test_the_list_is_cacheable_and_answers_304_to_its_etag(client, listed):
    first = client.get(URL)

    assert first["Cache-Control"] == "public, max-age=300"
    assert first["ETag"].startswith('"')
    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]


def test_the_etag_changes_when_a_testimonial_is_approved(client, listed, now):
    before = client.get(URL)["ETag"]

    Quote.objects.filter(affiliate__username="bob").update(approved=True, approved_at=now)

    after = client.get(URL, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before


@pytest.mark.parametrize("origin", ["https://example.com", "http://example.com:8000"])
def test_cors_answers_our_sites(client, listed, origin):
    response = client.get(URL, HTTP_ORIGIN=origin)

    assert response["Access-Control-Allow-Origin"] == origin
    assert "Origin" in response["Vary"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.test",
        "https://example.com.evil.test",
        "https://evilexample.com",
        "null",
        "javascript://example.com",
        "https://example.com/path",
        "",
    ],
)
def test_cors_ignores_other_origins(client, listed, origin):
    response = client.get(URL, HTTP_ORIGIN=origin)

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "Origin" in response["Vary"]


def test_cors_follows_site_hosts(client, listed, settings):
    settings.SITE_HOSTS = ["www.shop.test"]

    allowed = client.get(URL, HTTP_ORIGIN="https://www.shop.test")
    denied = client.get(URL, HTTP_ORIGIN="https://example.com")

    assert allowed["Access-Control-Allow-Origin"] == "https://www.shop.test"
    assert "Access-Control-Allow-Origin" not in denied


def test_the_list_needs_no_key_but_a_wrong_one_is_refused_as_everywhere(client, listed):
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-key")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


# --- the import API ----------------------------------------------------------------------


def test_import_creates_an_approved_testimonial_then_replaces_it(api, db):
    alice = AffiliateFactory(username="alice")
    body = {"affiliate": "alice", "text": "**Yes**", "website": "https://a.test", "approved": True}

    first = api.post(URL, body, format="json")
    second = api.post(URL, {**body, "text": "Changed", "approved": False}, format="json")

    assert first.status_code == 201 and first.json()["created"] is True
    assert second.status_code == 200 and second.json()["created"] is False
    stored = Quote.objects.get(affiliate=alice)
    assert (stored.text, stored.approved, stored.approved_at) == ("Changed", False, None)


def test_import_needs_an_api_key(anon_api, db):
    AffiliateFactory(username="alice")

    response = anon_api.post(URL, {"affiliate": "alice", "text": "x"}, format="json")

    assert response.status_code in (401, 403)
    assert Quote.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"affiliate": "nobody", "text": "x"}, "affiliate"),
        ({"affiliate": "alice", "text": ""}, "text"),
        ({"affiliate": "alice", "text": "x" * 2001}, "text"),
        ({"affiliate": "alice", "text": "x", "website": "javascript:alert(1)"}, "website"),
        ({"affiliate": "alice", "text": "x", "website": "ftp://a.test"}, "website"),
        ({"affiliate": "alice", "text": "x", "website": "data:text/html,x"}, "website"),
        ({"affiliate": "alice", "text": "x", "approved": "maybe"}, "approved"),
        ({"text": "x"}, "affiliate"),
    ],
)
def test_import_refuses_bad_input_with_a_json_400(api, db, body, field):
    AffiliateFactory(username="alice")

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Quote.objects.count() == 0


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "affiliate": st.one_of(st.just("alice"), st.text(max_size=70), st.integers()),
            "text": st.one_of(st.text(max_size=50), st.none(), st.integers(), st.just("\x00x")),
            "website": st.one_of(
                st.text(max_size=30),
                st.sampled_from(
                    ["https://a.test", "http://", "javascript:x", "https://" + "a" * 300]
                ),
                st.none(),
            ),
            "approved": st.one_of(st.booleans(), st.text(max_size=5), st.none()),
        },
    )
)
def test_import_sweep_answers_2xx_or_a_json_400_and_never_a_500(api, db, body):
    if not _alice_exists():
        AffiliateFactory(username="alice")

    response = api.post(URL, body, format="json")

    assert response.status_code in (200, 201, 400), (body, response.content)
    if response.status_code == 400:
        assert "error" in response.json()
    for stored in Quote.objects.all():
        assert stored.text and "\x00" not in stored.text
        assert stored.website == "" or stored.website.startswith(("http://", "https://"))


def _alice_exists() -> bool:
    from affiliates.models import Affiliate

    return Affiliate.objects.filter(username="alice").exists()


# --- the dashboard page ----------------------------------------------------------------


@pytest.fixture
def affiliate_client(db):
    affiliate = AffiliateFactory(username="carol")
    client = Client()
    client.force_login(affiliate.user)
    return client, affiliate


def test_an_affiliate_submits_a_testimonial_and_sees_it_waiting(affiliate_client):
    client, affiliate = affiliate_client

    page = client.get("/dashboard/testimonial/")
    posted = client.post(
        "/dashboard/testimonial/", {"text": "It *works*.", "website": "https://carol.test"}
    )
    shown = client.get("/dashboard/testimonial/")

    assert page.status_code == 200 and b'name="text"' in page.content
    assert posted.status_code == 302 and posted["Location"] == "/dashboard/testimonial/"
    stored = Quote.objects.get(affiliate=affiliate)
    assert (stored.text, stored.website, stored.approved) == (
        "It *works*.",
        "https://carol.test",
        False,
    )
    assert b'id="status"' in shown.content and b"<em>works</em>" in shown.content
    assert b'href="/dashboard/testimonial/"' in shown.content  # the nav links to it


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "", "website": ""}, b"errorlist"),
        ({"text": "x" * 2001, "website": ""}, b"2000"),
        ({"text": "ok", "website": "javascript:alert(1)"}, b"https://"),
        ({"text": "ok", "website": "ftp://files.test"}, b"https://"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(affiliate_client, data, message):
    client, _ = affiliate_client

    response = client.post("/dashboard/testimonial/", data)

    assert response.status_code == 200
    assert b"errorlist" in response.content and message in response.content
    assert Quote.objects.count() == 0


def test_changing_an_approved_testimonial_sends_it_back_to_review(affiliate_client, now):
    client, affiliate = affiliate_client
    Quote.objects.create(affiliate=affiliate, text="old", approved=True, approved_at=now)

    client.post("/dashboard/testimonial/", {"text": "new", "website": ""})

    stored = Quote.objects.get(affiliate=affiliate)
    assert (stored.text, stored.approved, stored.approved_at) == ("new", False, None)


def test_the_page_needs_an_affiliate(client, db):
    response = client.get("/dashboard/testimonial/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- approval in the admin -----------------------------------------------------------


def _staff_client(group: str) -> tuple[Client, object]:
    user = UserFactory(email=f"{group.split()[-1].lower()}@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client, user


def test_a_manager_approves_in_the_admin_and_it_is_listed(db, client):
    manager, user = _staff_client(PROGRAM_MANAGER)
    pending = Quote.objects.create(affiliate=AffiliateFactory(username="dave"), text="Hi")

    changelist = manager.get("/admin/affiliates/testimonial/?approved__exact=0")
    response = manager.post(
        "/admin/affiliates/testimonial/",
        {"action": "approve", "_selected_action": [pending.pk]},
    )

    assert changelist.status_code == 200 and b"dave" in changelist.content
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.approved and pending.approved_by == user and pending.approved_at
    assert [r["affiliate"] for r in client.get(URL).json()["results"]] == ["dave"]


def test_support_sees_testimonials_but_cannot_approve(db):
    support, _ = _staff_client(SUPPORT)
    pending = Quote.objects.create(affiliate=AffiliateFactory(username="erin"), text="Hi")

    changelist = support.get("/admin/affiliates/testimonial/")
    support.post(
        "/admin/affiliates/testimonial/",
        {"action": "approve", "_selected_action": [pending.pk]},
    )
    change = support.post(
        f"/admin/affiliates/testimonial/{pending.pk}/change/",
        {"affiliate": pending.affiliate_id, "text": "Hi", "website": "", "approved": "on"},
    )

    assert changelist.status_code == 200 and b"erin" in changelist.content
    assert b'value="approve"' not in changelist.content
    assert change.status_code == 403
    pending.refresh_from_db()
    assert pending.approved is False
