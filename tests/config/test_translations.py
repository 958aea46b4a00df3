"""The seven catalogues (locale/<lang>/LC_MESSAGES/django.po): complete, placeholders intact,
compiled .mo committed and equal to what polib makes of the .po; pages render in the
language asked for."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

from devtools import i18n_messages
from tests.factories import AffiliateFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
TRANSLATED = [code for code, _ in settings.LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(autouse=True)
def _english_afterwards():
    from django.utils import translation

    yield
    translation.deactivate()


def _entries(lang: str) -> list[polib.POEntry]:
    return list(polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po")))


def test_the_eight_languages_are_offered():
    assert [code for code, _ in settings.LANGUAGES] == [
        "en",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "pt",
        "ja",
    ]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_catalogue_exists_with_its_compiled_file(lang):
    assert (LOCALE / lang / "LC_MESSAGES" / "django.po").is_file()
    assert (LOCALE / lang / "LC_MESSAGES" / "django.mo").is_file()


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_committed_mo_is_what_polib_compiles_from_the_po(lang):
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"

    assert po.with_suffix(".mo").read_bytes() == i18n_messages.compiled_bytes(po)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_entry_is_untranslated_or_fuzzy(lang):
    po = polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"))

    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert not po.metadata_is_fuzzy


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_are_the_same_in_msgid_and_msgstr(lang):
    wrong = []
    for entry in _entries(lang):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural:
            assert sorted(PLACEHOLDER.findall(entry.msgid_plural)) == wanted
            translations = list(entry.msgstr_plural.values())
        else:
            translations = [entry.msgstr]
        wrong += [
            (entry.msgid, t) for t in translations if sorted(PLACEHOLDER.findall(t)) != wanted
        ]
    assert wrong == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_all_catalogues_hold_the_same_msgids(lang):
    assert {e.msgid for e in _entries(lang)} == {e.msgid for e in _entries("de")}


def test_the_check_command_passes():
    assert i18n_messages.main(["--check"]) == 0


def test_the_check_command_catches_a_stale_mo(tmp_path, monkeypatch):
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "de"}
    po.append(polib.POEntry(msgid="Settings", msgstr="Einstellungen"))
    po.save(str(folder / "django.po"))
    po.save_as_mofile(str(folder / "django.mo"))
    monkeypatch.setattr(i18n_messages, "LOCALE_DIR", tmp_path)
    assert i18n_messages.main(["--check"]) == 0

    po[0].msgstr = "Optionen"
    po.save(str(folder / "django.po"))

    assert i18n_messages.main(["--check"]) == 1


def test_a_page_renders_german_for_accept_language_de(client, db):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")

    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Passwort vergessen?" in html
    assert response["Content-Language"] == "de"


def test_a_page_renders_japanese_for_accept_language_ja(client, db):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert '<html lang="ja">' in html and "パスワードをお忘れですか？" in html


def test_an_unoffered_language_falls_back_to_english(client, db):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    assert '<html lang="en">' in html and "Forgot your password?" in html


def test_the_affiliate_preference_wins_over_the_browser(client, db):
    affiliate = AffiliateFactory(language="de")
    client.force_login(affiliate.user)

    response = client.get("/settings/", HTTP_ACCEPT_LANGUAGE="fr")

    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Ihr Benutzername" in html and "E-Mail-Einstellungen" in html
    assert "3–30 Zeichen: a-z, 0-9, - und _." in html  # a lazy help text, not English


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_settings_page_renders_in_every_language(client, db, lang):
    affiliate = AffiliateFactory(language=lang)
    client.force_login(affiliate.user)

    html = client.get("/settings/").content.decode()

    assert f'<html lang="{lang}">' in html
    assert "Your username" not in html and "E-mail preferences" not in html


def test_a_word_with_two_meanings_has_one_translation_for_each():
    # pgettext contexts: the same English word, a different word (or gender) per meaning.
    from django.utils import translation
    from django.utils.translation import gettext

    from affiliates.models import Affiliate
    from commissions.models import CommissionEntry
    from dashboard.selectors.referrals import SIGNED_UP, STATUS_LABELS
    from dashboard.views.ledger import REFERRAL_COLUMNS
    from payouts.models import Payout

    headings = {key: label for key, label, _ in REFERRAL_COLUMNS}
    with translation.override("de"):
        assert (str(STATUS_LABELS[SIGNED_UP]), str(headings["signup"])) == (
            "Registriert",
            "Registriert am",
        )
        assert (Affiliate.Status.APPROVED.label, CommissionEntry.State.APPROVED.label) == (
            "Freigeschaltet",
            "Freigegeben",
        )
        assert (CommissionEntry.SourceType.ADMIN.label, gettext("Admin")) == (
            "Manuelle Buchung",
            "Verwaltung",  # the navigation's link to the admin
        )
    with translation.override("fr"):
        assert (CommissionEntry.State.PAID.label, Payout.State.PAID.label) == ("Payé", "Versé")
    with translation.override("ja"):
        assert (CommissionEntry.State.PENDING.label, Payout.State.PENDING.label) == (
            "保留中",
            "送金待ち",
        )


def test_the_drill_down_heads_its_dates_as_dates_and_its_status_as_a_status(client, db):
    from tests.factories import ReferralFactory

    affiliate = AffiliateFactory(language="de")
    referral = ReferralFactory(affiliate=affiliate)
    client.force_login(affiliate.user)

    html = client.get(f"/dashboard/referrals/{referral.pk}/").content.decode()

    assert "<dt>Registriert am</dt>" in html and "<dt>Erste Zahlung am</dt>" in html
    assert 'status-signed_up">Registriert</span>' in html  # no payment yet: signed up
