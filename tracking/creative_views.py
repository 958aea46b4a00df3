"""Serves the creatives' image files: only a file a Creative row names, whatever else lies in
MEDIA_ROOT, with the Content-Type fixed by its extension (tracking.creatives.FORMATS).

Embedded on affiliates' sites, so: cacheable by anyone for a year and `immutable` (a stored
name is random and never reused: a new image is a new name), readable cross-origin, and
sandboxed by CSP should a browser ever render one as a document. A withdrawn creative
(inactive) is still served, so banners already embedded keep working; deleting the row stops
it.

In production nginx may serve the same files without Django:

    location /media/creatives/ {
        alias /srv/ambassador/var/media/creatives/;   # MEDIA_ROOT/creatives/
        types { image/png png; image/jpeg jpg; image/gif gif; image/webp webp; }
        default_type application/octet-stream;
        add_header Cache-Control "public, max-age=31536000, immutable";
        add_header Content-Security-Policy "default-src 'none'; sandbox";
        add_header X-Content-Type-Options nosniff;
    }

(uploads are the only writers there, and they write only the formats above).
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from tracking.creatives import CONTENT_TYPES
from tracking.models import Creative

CACHE_CONTROL = "public, max-age=31536000, immutable"


@require_safe
def creative_file(request: HttpRequest, name: str) -> FileResponse:
    creative = Creative.objects.filter(image=name).only("image").first()
    content_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower())
    if creative is None or content_type is None:
        raise Http404("No such creative.")
    try:
        handle = creative.image.open("rb")
    except OSError as exc:  # the row is there, the file is gone (restored database)
        raise Http404("No such creative.") from exc
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = CACHE_CONTROL
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
