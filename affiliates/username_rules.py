"""The pure rules of a username's shape: length, charset and the look-alike skeleton.

No models, no settings, no database: `affiliates.models.Username.save()` stores the skeleton
it computes here, and `affiliates.usernames` (which reads the Username table to refuse taken
names) builds its validation on top. Keeping these rules below the models is what lets both
import them without importing each other.
"""

from __future__ import annotations

import re

MIN_LENGTH = 3
MAX_LENGTH = 30
CHARSET = re.compile(r"^[a-z0-9_-]+$")
# Names Ambassador serves itself under /r/ (where any other last segment is a username):
# `/r/claim-code` is the mobile-install claim code endpoint, never a tracked redirect. The
# fast lane (tracking.fastlane) and config.urls route these to Django; they are reserved
# (affiliates.usernames.reserved_usernames), so no affiliate can hold one.
RESERVED_UNDER_R = frozenset({"claim-code"})

# Characters that read alike in a link or an e-mail. The skeleton maps each group to one
# representative, so two names with the same skeleton are look-alikes. The charset is ASCII
# (Unicode confusables are already excluded), so this short table is the whole problem.
_CONFUSABLES = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "i": "l",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
    }
)
# Multi-letter look-alikes, applied after the single-character map.
_SEQUENCES = (("rn", "m"), ("vv", "w"))


def skeleton(name: str) -> str:
    """The look-alike key of a name: lowercase, separators dropped (`-`, `_` and none read
    alike: "bob-smith", "bob_smith", "bobsmith"), confusable characters folded ("a1ice" and
    "alice" both → "allce")."""
    folded = name.lower().replace("-", "").replace("_", "").translate(_CONFUSABLES)
    for seq, rep in _SEQUENCES:
        folded = folded.replace(seq, rep)
    return folded
