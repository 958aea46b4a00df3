"""Rules for the creatives (banners and logos) admins upload: where a file is stored, which
files are accepted, and the site path a creative links to. No model import here: the model
and its migrations reference these functions.

Accepted: PNG, JPEG, GIF and WebP, as Pillow reads them (the format Pillow detects in the
bytes, not the name or the browser's Content-Type). SVG is refused: an SVG is a document that
can carry script and links, and Pillow cannot check it; a raster banner is what an affiliate
embeds anyway.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image

from tracking.links import is_site_url

# Pillow's format name → (file extension, the Content-Type the file is served with). The
# extension of a stored file is chosen from this table, so the served type is fixed by it.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {ext: content_type for ext, content_type in FORMATS.values()}
UPLOAD_DIR = "creatives"


def detected_format(file: Any) -> str | None:
    """The image format Pillow reads in the file's bytes, or None when it is not an image."""
    try:
        file.seek(0)
        with Image.open(file) as image:
            found = image.format
        file.seek(0)
    except Exception:  # Pillow raises many kinds on junk: not an image, whatever the kind
        return None
    return found


def creative_upload_to(instance: Any, filename: str) -> str:
    """creatives/<random hex>.<ext from the detected format>: the uploader's file name never
    reaches the disk or a URL, and a name is never reused, so the file can be cached forever."""
    fmt = detected_format(instance.image.file) if instance.image else None
    ext = FORMATS.get(fmt or "", ("png", ""))[0]
    return f"{UPLOAD_DIR}/{uuid.uuid4().hex}.{ext}"


def validate_creative_image(file: Any) -> None:
    """At most settings.CREATIVE_MAX_BYTES, one of FORMATS, at most CREATIVE_MAX_SIDE pixels
    a side (a small file can still decode to a huge bitmap)."""
    if file.size > settings.CREATIVE_MAX_BYTES:
        raise ValidationError(
            _("The file is %(size)s KB; the limit is %(limit)s KB."),
            code="too_large",
            params={
                "size": file.size // 1024,
                "limit": settings.CREATIVE_MAX_BYTES // 1024,
            },
        )
    fmt = detected_format(file)
    if fmt not in FORMATS:
        raise ValidationError(
            _("Upload a PNG, JPEG, GIF or WebP image (SVG is not accepted)."), code="format"
        )
    file.seek(0)
    with Image.open(file) as image:
        width, height = image.size
    file.seek(0)
    side = settings.CREATIVE_MAX_SIDE
    if width > side or height > side:
        raise ValidationError(
            _("The image is %(width)s × %(height)s pixels; at most %(side)s pixels a side."),
            code="too_big",
            params={"width": width, "height": height, "side": side},
        )


def validate_site_path(value: str) -> None:
    """A path on the marketing site: '/', '/pricing/', '/blog/post/?plan=pro'."""
    if (
        not value.startswith("/")
        or value.startswith("//")
        or not is_site_url(settings.SITE_URL + value)
    ):
        raise ValidationError(
            _("Enter a path of the site starting with /, such as /pricing/."), code="path"
        )
