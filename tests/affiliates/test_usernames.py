"""Username rules: charset, length, reserved routes, look-alikes, taken names and aliases."""

import pytest

from affiliates.usernames import reserved_usernames, skeleton, validate_username
from config.errors import ServiceError
from tests.factories import AffiliateFactory

pytestmark = pytest.mark.django_db


def _refusal(name: str, **kwargs) -> str:
    with pytest.raises(ServiceError) as exc:
        validate_username(name, **kwargs)
    assert exc.value.fields["username"] == [exc.value.message]
    return exc.value.message


def test_a_valid_username_comes_back_lowercase():
    assert validate_username("  Alice_Writes-2 ") == "alice_writes-2"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3 to 30 characters"),
        ("a" * 31, "3 to 30 characters"),
        ("<script>", "only letters a-z"),
        ("blog/alice", "only letters a-z"),
        ("alice smith", "only letters a-z"),
        ("zoë", "only letters a-z"),
        ("12345", "only digits"),
    ],
)
def test_an_invalid_username_is_refused_naming_the_rule(name, rule):
    assert rule in _refusal(name)


def test_the_marketing_sites_configured_routes_are_reserved(settings):
    settings.RESERVED_USERNAMES = ["pricing", "blog"]

    assert "reserved" in _refusal("Pricing")
    assert "reserved" in _refusal("blog")


@pytest.mark.parametrize("name", ["admin", "api", "apply", "accounts", "dashboard", "healthz"])
def test_ambassadors_own_route_prefixes_are_reserved(settings, name):
    settings.RESERVED_USERNAMES = []

    assert name in reserved_usernames()
    assert "reserved" in _refusal(name)


def test_a_new_route_is_reserved_without_listing_it(settings):
    assert "newthing" not in reserved_usernames()
    validate_username("newthing")

    settings.ROOT_URLCONF = "tests.affiliates.urls_with_newthing"

    assert "newthing" in reserved_usernames()
    assert "reserved" in _refusal("newthing")


def test_a_catch_all_converter_route_reserves_nothing(settings):
    # The tracking app's `/<username>` catch-all must not make every name reserved.
    reserved = reserved_usernames()

    assert not any(r.startswith("<") for r in reserved)
    assert validate_username("alice") == "alice"


@pytest.mark.parametrize("name", ["l0gin", "adm1n", "b-log", "pric_ing", "dashb0ard"])
def test_look_alikes_of_reserved_names_are_refused(settings, name):
    settings.RESERVED_USERNAMES = ["login", "blog", "pricing"]

    assert "looks too much like a reserved name" in _refusal(name)


@pytest.mark.parametrize("name", ["a1ice", "aIice", "al1ce", "ALlCE"])
def test_look_alikes_of_an_existing_username_are_refused(name):
    AffiliateFactory(username="alice")

    message = _refusal(name)

    assert "looks too much like an existing username" in message or "taken" in message


def test_hyphen_and_underscore_variants_are_look_alikes():
    AffiliateFactory(username="bob-smith")

    assert "looks too much like" in _refusal("bob_smith")
    assert "looks too much like" in _refusal("bobsmith")
    assert skeleton("bob-smith") == skeleton("bob_smith") == skeleton("b0bsmith")


def test_a_taken_username_is_refused_case_insensitively():
    AffiliateFactory(username="alice")

    assert "taken" in _refusal("ALICE")


def test_an_affiliate_may_take_back_its_own_earlier_username_but_nobody_else_may():
    owner = AffiliateFactory(username="alice")
    other = AffiliateFactory(username="zed-writes")

    assert validate_username("alice", affiliate=owner) == "alice"
    assert "taken" in _refusal("alice", affiliate=other)
