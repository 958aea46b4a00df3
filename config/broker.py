"""kombu's file-system transport (the broker of `make run` and of a laptop without Redis),
with message files that appear whole.

kombu's own `_put` creates `<n>_<uuid>.<queue>.msg` and then writes the body under an
advisory lock the reader never takes: a worker polling at that instant moves the still-empty
file away, fails to decode it, and dies with "Unrecoverable error: JSONDecodeError" — which
stops `make run` altogether (seen with a payout run and a browser on the admin at once).
Here the body is written to a hidden file in the same folder (a name the reader's
`<queue>.msg` filter skips) and renamed into place: rename is atomic on POSIX, so a reader
sees no file or the whole message.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        staging = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.tmp")
        try:
            with open(staging, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(staging, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Make every `filesystem://` broker URL use this transport (config/celery.py calls it
    before the app connects); a `redis://` URL is untouched."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
