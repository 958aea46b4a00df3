"""Self-referral as people actually try it: other spellings of their own mailbox, another
host of their own company, their own account named as an employee's customer."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from affiliates.emails import canonical_mailbox, registrable_domain
from tests.factories import AffiliateFactory, UserFactory
from tracking.services import attribute_signup, self_referral_reason

# --- the normaliser -----------------------------------------------------------------------

_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
_tag = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=0, max_size=8)
_domain = st.sampled_from(["example.com", "sub.example.co.uk", "outlook.com", "alice-co.test"])


def _scramble_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if f else c for c, f in zip(text, flips + [False] * len(text), strict=False)
    )


def _dot(local: str, positions: list[int]) -> str:
    chars = list(local)
    for p in sorted({p % (len(local) + 1) for p in positions}, reverse=True):
        if 0 < p < len(local):
            chars.insert(p, ".")
    return "".join(chars)


@given(local=_local, tag=_tag, domain=_domain, flips=st.lists(st.booleans(), max_size=40))
def test_case_and_plus_tags_never_make_another_mailbox(local, tag, domain, flips):
    plain = f"{local}@{domain}"
    spelled = _scramble_case(f"{local}+{tag}@{domain}", flips)

    assert canonical_mailbox(spelled) == canonical_mailbox(plain) == plain
    assert canonical_mailbox(canonical_mailbox(spelled)) == canonical_mailbox(spelled)


@given(
    local=_local,
    dots=st.lists(st.integers(min_value=0, max_value=12), max_size=4),
    host=st.sampled_from(["gmail.com", "googlemail.com", "GMail.com", "GOOGLEMAIL.COM"]),
    tag=_tag,
)
def test_gmail_ignores_dots_and_googlemail_is_gmail(local, dots, host, tag):
    spelled = f"{_dot(local, dots)}+{tag}@{host}"

    assert canonical_mailbox(spelled) == f"{local}@gmail.com"


@given(local=_local, dots=st.lists(st.integers(min_value=1, max_value=11), min_size=1, max_size=3))
def test_dots_still_tell_people_apart_outside_gmail(local, dots):
    dotted = _dot(local, dots)
    if dotted == local:
        return

    assert canonical_mailbox(f"{dotted}@example.com") != canonical_mailbox(f"{local}@example.com")


@given(st.text(max_size=30))
def test_the_normaliser_never_raises_and_non_addresses_are_empty(text):
    result = canonical_mailbox(text)

    assert result == "" or ("@" in result and result == result.lower())
    if "@" not in text:
        assert result == ""


def test_registrable_domains_follow_the_public_suffix_list():
    assert registrable_domain("sub.example.com") == "example.com"
    assert registrable_domain("mail.sub.example.co.uk") == "example.co.uk"
    assert registrable_domain("co.uk") == ""  # a public suffix belongs to nobody
    assert registrable_domain("alice.github.io") != registrable_domain("bob.github.io")


# --- the four cases seen ---------------------------------------------------------------------


@pytest.fixture
def p7self(db):
    return AffiliateFactory(username="p7self", user=UserFactory(email="p7self@gmail.com"))


@pytest.fixture
def corp(db):
    return AffiliateFactory(username="corp", user=UserFactory(email="alice@example.com"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email", ["p7self+promo@gmail.com", "p7.self@gmail.com", "p7self@googlemail.com"]
)
def test_another_spelling_of_the_affiliates_own_gmail_is_not_credited(p7self, now, email):
    referral = attribute_signup(customer_id="c1", email=email, referral=p7self.public_id, now=now)

    assert referral.affiliate is None
    assert "self-referral" in referral.why and "own mailbox" in referral.why


@pytest.mark.django_db
def test_a_subdomain_of_the_affiliates_company_is_not_credited(corp, now):
    referral = attribute_signup(
        customer_id="c1", email="boss@sub.example.com", referral=corp.public_id, now=now
    )

    assert referral.affiliate is None
    assert "example.com" in referral.why and "organisation" in referral.why


@pytest.mark.django_db
def test_two_gmail_users_are_two_people(p7self, now):
    referral = attribute_signup(
        customer_id="c1", email="someone.else@gmail.com", referral=p7self.public_id, now=now
    )

    assert referral.affiliate == p7self


@pytest.mark.django_db
def test_a_company_sharing_only_a_public_suffix_is_another_company(now):
    affiliate = AffiliateFactory(user=UserFactory(email="ann@alpha.co.uk"))

    assert not self_referral_reason(customer_email="bob@beta.co.uk", affiliate=affiliate)
    assert self_referral_reason(customer_email="bob@mail.alpha.co.uk", affiliate=affiliate)


# --- employees --------------------------------------------------------------------------------


@pytest.fixture
def eve(db):
    return AffiliateFactory(
        username="eve", is_employee=True, user=UserFactory(email="eve.ops@gmail.com")
    )


@pytest.mark.django_db
def test_an_employee_named_at_signup_for_its_own_account_is_not_credited(eve, now):
    referral = attribute_signup(
        customer_id="c1", email="EveOps+trial@googlemail.com", employee="eve", now=now
    )

    assert referral.employee is None
    assert referral.source == "none"
    assert "employee eve not credited: self-referral" in referral.why


@pytest.mark.django_db
def test_an_employee_named_at_upgrade_for_its_own_account_is_not_credited(eve, now):
    attribute_signup(customer_id="c1", email="eveops@gmail.com", now=now)

    again = attribute_signup(customer_id="c1", email="", employee="eve", now=now)
    twice = attribute_signup(customer_id="c1", email="", employee="eve", now=now)

    assert again.employee is None and twice.employee is None
    assert twice.why.count("employee eve not credited") == 1


@pytest.mark.django_db
def test_an_employee_named_for_a_real_customer_is_credited(eve, now):
    referral = attribute_signup(customer_id="c1", email="carol@carol.test", employee="eve", now=now)

    assert referral.employee == eve
