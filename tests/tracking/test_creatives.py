"""Creatives in the admin (Program managers upload, Support reads) and the file view that
serves them: only files a Creative row names, with a fixed Content-Type and cache headers."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from tests.factories import UserFactory
from tracking.models import Creative

pytestmark = pytest.mark.django_db
ADD = "/admin/tracking/creative/add/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://example.com"
    settings.SITE_HOSTS = ["example.com"]


def image_bytes(fmt="PNG", size=(468, 60), color=(52, 84, 209)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def upload(name="banner.png", data=None, content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type)


def staff_client(client, group: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def manager(client):
    return staff_client(client, PROGRAM_MANAGER, "pm@example.com")


def form(**overrides):
    data = {
        "name": "Leaderboard",
        "image": upload(),
        "alt_text": "Try Example free",
        "target_path": "/pricing/",
        "is_active": "on",
    }
    return {**data, **overrides}


def test_a_program_manager_uploads_a_creative_and_its_size_is_read_from_the_image(manager):
    response = manager.post(ADD, form())

    assert response.status_code == 302, response.content.decode()[:2000]
    creative = Creative.objects.get()
    assert (creative.width, creative.height) == (468, 60)
    # The uploader's file name never reaches the disk: a random name, the detected format.
    assert creative.image.name.startswith("creatives/") and creative.image.name.endswith(".png")
    assert "banner" not in creative.image.name
    assert creative.alt_text == "Try Example free" and creative.is_active


def test_a_file_that_is_not_an_image_is_a_form_error(manager):
    fake = upload("banner.png", b"<html>not an image</html>")

    response = manager.post(ADD, form(image=fake))

    assert response.status_code == 200
    assert "Upload a valid image" in response.content.decode()
    assert not Creative.objects.exists()


def test_svg_is_refused(manager):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'

    response = manager.post(ADD, form(image=upload("logo.svg", svg, "image/svg+xml")))

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Creative.objects.exists()


def test_a_bmp_renamed_png_is_refused_by_its_bytes_not_its_name(manager):
    response = manager.post(ADD, form(image=upload("banner.png", image_bytes("BMP"))))

    assert response.status_code == 200
    assert "Upload a PNG, JPEG, GIF or WebP image" in response.content.decode()
    assert not Creative.objects.exists()


def test_a_file_over_the_size_limit_is_refused(manager, settings):
    settings.CREATIVE_MAX_BYTES = 1000
    noisy = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(noisy, format="PNG")  # > 1000 bytes

    response = manager.post(ADD, form(image=upload(data=noisy.getvalue())))

    assert response.status_code == 200
    assert "the limit is 0 KB" in response.content.decode()  # 1000 // 1024 = 0
    assert not Creative.objects.exists()


def test_an_image_too_large_in_pixels_is_refused(manager, settings):
    settings.CREATIVE_MAX_SIDE = 400

    response = manager.post(ADD, form(image=upload(data=image_bytes(size=(401, 10)))))

    assert response.status_code == 200
    assert "at most 400 pixels a side" in response.content.decode()


@pytest.mark.parametrize("path", ["pricing", "https://evil.org/", "//evil.org/", "/a\\b"])
def test_the_target_must_be_a_path_of_the_site(manager, path):
    response = manager.post(ADD, form(target_path=path))

    assert response.status_code == 200
    assert "Enter a path of the site starting with /" in response.content.decode()


def test_support_may_not_upload(client):
    support = staff_client(client, SUPPORT, "support@example.com")

    response = support.post(ADD, form())

    assert response.status_code == 403
    assert not Creative.objects.exists()


def test_the_admin_list_shows_a_thumbnail_and_the_size(manager):
    manager.post(ADD, form())

    body = manager.get("/admin/tracking/creative/").content.decode()

    assert "468 × 60" in body
    assert Creative.objects.get().image.url in body


# --- serving the files -------------------------------------------------------------------


def make_creative(**kw) -> Creative:
    defaults = {
        "name": "Banner",
        "image": SimpleUploadedFile("b.png", image_bytes(), "image/png"),
        "alt_text": "Example",
        "target_path": "/",
    }
    return Creative.objects.create(**{**defaults, **kw})


def test_a_creative_file_is_served_with_its_type_and_a_long_cache(client):
    creative = make_creative()

    response = client.get(creative.image.url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert b"".join(response.streaming_content) == creative.image.open("rb").read()


def test_a_withdrawn_creative_is_still_served_for_the_banners_already_embedded(client):
    creative = make_creative(is_active=False)

    assert client.get(creative.image.url).status_code == 200


def test_only_files_named_by_a_creative_are_served(client, settings, tmp_path):
    (tmp_path / "creatives").mkdir(exist_ok=True)
    (tmp_path / "creatives" / "stray.png").write_bytes(image_bytes())
    (tmp_path / "secret.txt").write_text("secret")
    creative = make_creative()

    assert client.get("/media/creatives/stray.png").status_code == 404
    assert client.get("/media/secret.txt").status_code == 404
    assert client.get("/media/../config/settings.py").status_code == 404
    assert client.post(creative.image.url).status_code == 405
    creative.delete()
    assert client.get(creative.image.url).status_code == 404


def test_support_reads_the_creatives_without_an_add_button(client):
    make_creative(name="Square logo")
    support = staff_client(client, SUPPORT, "support@example.com")

    body = support.get("/admin/tracking/creative/").content.decode()

    assert "Square logo" in body
    assert ADD not in body
