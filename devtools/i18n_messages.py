"""Compile the translation catalogues with polib (pure Python): locale/<lang>/LC_MESSAGES/
django.po → django.mo, so neither a fresh install nor CI needs system gettext.

    python -m devtools.i18n_messages            # compile every catalogue
    python -m devtools.i18n_messages --check    # exit 1 if a .mo differs from its .po,
                                                # or an entry is untranslated or fuzzy

`make messages` first extracts the strings with Django's makemessages (that step needs
GNU gettext, a developer's tool), then runs this.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))


def compiled_bytes(po_path: Path) -> bytes:
    """The .mo polib writes for `po_path`: deterministic for a given .po."""
    po = polib.pofile(str(po_path))
    mo_path = po_path.with_suffix(".tmp.mo")
    try:
        po.save_as_mofile(str(mo_path))
        return mo_path.read_bytes()
    finally:
        mo_path.unlink(missing_ok=True)


def problems(po_path: Path) -> list[str]:
    po = polib.pofile(str(po_path))
    found = [f"{po_path}: untranslated: {e.msgid!r}" for e in po.untranslated_entries()]
    found += [f"{po_path}: fuzzy: {e.msgid!r}" for e in po.fuzzy_entries()]
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists() or mo_path.read_bytes() != compiled_bytes(po_path):
        found.append(f"{mo_path}: differs from the .po (run `make compilemessages`)")
    return found


def main(argv: list[str]) -> int:
    if "--check" in argv:
        found = [p for po in catalogues() for p in problems(po)]
        print("\n".join(found) or f"catalogues OK ({len(catalogues())})")
        return 1 if found else 0
    for po_path in catalogues():
        po_path.with_suffix(".mo").write_bytes(compiled_bytes(po_path))
        print(f"compiled {po_path.with_suffix('.mo').relative_to(LOCALE_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
