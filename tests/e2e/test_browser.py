"""End-to-end: what a person sees in a real browser."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_docs_render_offline_in_a_browser(live_server, page):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)

    assert "Ambassador API" in page.inner_text(".swagger-ui .info .title")
    # Every asset came from our own server: no CDN at run time.
    assert all(url.startswith(live_server.url) for url in requests), [
        u for u in requests if not u.startswith(live_server.url)
    ]
