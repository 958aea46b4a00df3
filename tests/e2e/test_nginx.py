"""The integration guide's nginx snippet, run as written through Debian's nginx in front of a
live Ambassador: `/blog/some-post/<username>` comes back as Ambassador's 302 with the
`referral` cookie. Skipped only when nginx is not installed (.ci/run installs nginx-light).

On main the snippet put the host name in a `proxy_pass` with variables: with no `resolver`,
every affiliate link answered 502."""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import AffiliateFactory

ROOT = Path(__file__).resolve().parents[2]
MARKER = "tests/e2e/test_nginx.py runs the block below"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def documented_config() -> str:
    """The ```nginx block that follows the marker in docs/integrations.md."""
    text = (ROOT / "docs" / "integrations.md").read_text()
    assert MARKER in text, "the tested nginx block lost its marker in docs/integrations.md"
    after = text[text.index(MARKER) :]
    match = re.search(r"```nginx\n(.*?)```", after, re.S)
    assert match, "no ```nginx block after the marker"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, error_log: Path) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {error_log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("nginx did not listen")


@pytest.fixture
def nginx_in_front_of(tmp_path, live_server, settings):
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    # Ambassador answers as go.example.com (the Host the snippet sends).
    settings.ALLOWED_HOSTS = ["go.example.com", "127.0.0.1", "localhost"]
    ambassador = urlsplit(live_server.url)
    config = documented_config()
    # The only substitutions: the upstream's address becomes the live server, which speaks
    # plain http (so https:// → http:// in proxy_pass; proxy_ssl_* are then unused), and the
    # site's server block gets a listen port and a root. Everything else runs as documented.
    assert "server go.example.com:443;" in config
    config = config.replace(
        "server go.example.com:443;", f"server {ambassador.hostname}:{ambassador.port};"
    )
    assert "proxy_pass https://ambassador/" in config
    config = config.replace("proxy_pass https://ambassador/", "proxy_pass http://ambassador/")
    port = _free_port()
    html = tmp_path / "html"
    (html / "pricing").mkdir(parents=True)
    (html / "pricing" / "index.html").write_text("<h1>Pricing</h1>")
    config = config.replace(
        "server {\n    server_name example.com;",
        f"server {{\n    listen 127.0.0.1:{port};\n    root {html};\n    server_name example.com;",
    )
    for sub in ("logs", "temp"):
        (tmp_path / sub).mkdir()
    error_log = tmp_path / "logs" / "error.log"
    (tmp_path / "nginx.conf").write_text(
        f"""daemon off;
master_process off;
pid {tmp_path}/nginx.pid;
error_log {error_log} info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/temp/body;
    proxy_temp_path {tmp_path}/temp/proxy;
    fastcgi_temp_path {tmp_path}/temp/fastcgi;
    uwsgi_temp_path {tmp_path}/temp/uwsgi;
    scgi_temp_path {tmp_path}/temp/scgi;
{config}
}}
"""
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(error_log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, proc, error_log)
        yield port, error_log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": "example.com", "User-Agent": "Mozilla/5.0"})
    return conn.getresponse()


@pytest.mark.django_db(transaction=True)
def test_the_documented_nginx_snippet_forwards_an_affiliate_link_to_the_302_and_cookie(
    nginx_in_front_of,
):
    port, error_log = nginx_in_front_of
    alice = AffiliateFactory(username="alice")

    response = _get(port, "/blog/some-post/alice")

    assert response.status == 302, (response.status, response.read()[:300], error_log.read_text())
    location = urlsplit(response.getheader("Location"))
    assert (location.hostname, location.path) == ("example.com", "/blog/some-post/")
    cookies = response.msg.get_all("Set-Cookie") or []
    assert any(c.startswith(f"referral={alice.public_id};") for c in cookies), cookies


@pytest.mark.django_db(transaction=True)
def test_the_documented_nginx_snippet_keeps_the_sites_pages_and_404s(nginx_in_front_of):
    port, _ = nginx_in_front_of

    page = _get(port, "/pricing/")
    not_a_name = _get(port, "/blog/some-post/Not.A.Name!")

    assert page.status == 200 and b"Pricing" in page.read()
    assert not_a_name.status == 404  # the username-shape guard keeps it from Ambassador
