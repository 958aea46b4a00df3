"""Late claims: a coupon or a "who referred you?" name that arrives after the customer's
first signup call (POST /api/v1/attributions), and a Stripe invoice whose discount is an
affiliate's coupon.

- A customer nobody has is attributed at once, by the rules of a signup
  (attribution.candidate_refusal: approved affiliates with an active account, never a
  self-referral), with its signup commission queued as a signup's is.
- A customer another affiliate already has keeps it (first referrer wins): the claim waits
  for a Program manager (ReferralClaim, pending), who accepts or rejects it in admin.
- Accepting moves the customer to the claimant from the decision on: payments recorded
  after it credit the claimant. Entries already written stay with the first affiliate —
  the ledger is append-only, they were right when written, and money may already have been
  paid out on them; a later refund of an earlier payment claws back from whoever earned it.
  The signup bounty stays with the first affiliate too (one per customer).
- Decisions are compare-and-set on the pending state: a second accept or reject of the
  same claim changes nothing. Who, when and the note are on the claim and in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from affiliates.models import Affiliate, AuditLog, Coupon, User
from config.errors import ServiceError
from config.queue import enqueue_on_commit
from tracking.models import Referral, ReferralClaim, ReferralStatDue
from tracking.selectors import stripe_customer_is_linked
from tracking.services.attribution import (
    _Candidate,
    _gather,
    candidate_refusal,
    lock_customer,
)
from tracking.webhook_events import emit_referral_created


@dataclass
class LateClaim:
    """What POST /api/v1/attributions did with a coupon or referred_by: `outcome` is
    "attributed" (the customer had nobody), "claimed" (a claim waits for a decision) or
    "unchanged" (the same affiliate already has the customer, or the claim existed)."""

    referral: Referral
    outcome: str
    claim: ReferralClaim | None = None
    created: bool = False


def _usable_candidate(*, coupon: str, referred_by: str, customer_email: str) -> _Candidate:
    """The affiliate the late evidence names, coupon before name (a signup's precedence);
    a ServiceError naming the field when neither may be credited."""
    errors: dict[str, list[str]] = {}
    for field, value in (("coupon", coupon), ("referred_by", referred_by)):
        if not value:
            continue
        ev = _gather(
            coupon=value if field == "coupon" else None,
            referral=None,
            referral_click=None,
            referred_by=value if field == "referred_by" else None,
        )
        if not ev.candidates:
            errors[field] = [(ev.ignored or [f"{field} names nobody"])[0] + "."]
            continue
        cand = ev.candidates[0]
        refusal = candidate_refusal(cand.affiliate, customer_email=customer_email)
        if refusal:
            errors[field] = [f"{cand.evidence}: {refusal}."]
            continue
        return cand
    raise ServiceError(
        "The late claim names no affiliate that may be credited with this customer.",
        code="invalid_claim",
        fields=errors,
    )


def _attribute(referral: Referral, cand: _Candidate, *, why: str, now: datetime) -> None:
    """Credit a customer nobody had (in the caller's transaction)."""
    referral.affiliate = cand.affiliate
    referral.source = cand.source
    referral.coupon = cand.coupon
    note = f"credited {cand.affiliate.username} by {why} on {now:%Y-%m-%d}"
    referral.why = f"{note}; {referral.why}" if referral.why else note
    referral.save(update_fields=["affiliate", "source", "coupon", "why"])
    ReferralStatDue.objects.create(referral=referral)
    emit_referral_created(referral)
    # As at signup: by task name (tracking must not import commissions), after commit; the
    # commissions sweeper writes a missed one.
    enqueue_on_commit("commissions.record_signup_commission", referral_id=referral.pk)


def claim_customer(
    *,
    customer_id: str,
    coupon: str | None = None,
    referred_by: str | None = None,
    now: datetime,
) -> LateClaim:
    """A coupon or a declared referrer for an already reported customer. Attributes a
    customer nobody has; for a customer another affiliate has, records a pending claim (one
    per claimant: a repeat answers the same claim). NotFound for an unknown customer,
    ServiceError (with the field) for an unknown coupon or affiliate, one that is not
    approved, or a self-referral. Nothing is written when this raises."""
    customer_id = (customer_id or "").strip()
    coupon = (coupon or "").strip()
    referred_by = (referred_by or "").strip()
    if not coupon and not referred_by:
        raise ServiceError(
            "Send a coupon or referred_by.",
            fields={"coupon": ["Send a coupon or referred_by."]},
        )
    with transaction.atomic():
        referral = lock_customer(customer_id, "affiliate")
        cand = _usable_candidate(
            coupon=coupon, referred_by=referred_by, customer_email=referral.email
        )
        if referral.affiliate_id == cand.affiliate.pk:
            return LateClaim(referral=referral, outcome="unchanged")
        if referral.affiliate_id is None:
            _attribute(referral, cand, why=f"late claim ({cand.evidence})", now=now)
            return LateClaim(referral=referral, outcome="attributed", created=True)
        existing = ReferralClaim.objects.filter(referral=referral, affiliate=cand.affiliate).first()
        if existing is not None:
            return LateClaim(referral=referral, outcome="unchanged", claim=existing)
        try:
            with transaction.atomic():
                claim = ReferralClaim.objects.create(
                    referral=referral,
                    affiliate=cand.affiliate,
                    previous_affiliate=referral.affiliate,
                    source=cand.source,
                    coupon=cand.coupon,
                    evidence=cand.evidence[:300],
                    created_at=now,
                )
        except IntegrityError:
            # Cannot happen under the row lock above; kept for safety on odd isolation.
            claim = ReferralClaim.objects.get(referral=referral, affiliate=cand.affiliate)
            return LateClaim(referral=referral, outcome="unchanged", claim=claim)
    return LateClaim(referral=referral, outcome="claimed", claim=claim, created=True)


def _decide(
    *, claim_id: int, to: str, actor: User | None, note: str, now: datetime
) -> ReferralClaim | None:
    """Compare-and-set pending → `to`, with who, when and the note. None when the claim was
    not pending (already decided: nothing changes, idempotent)."""
    changed = ReferralClaim.objects.filter(pk=claim_id, state=ReferralClaim.State.PENDING).update(
        state=to, decided_at=now, decided_by=actor, decision_note=(note or "").strip()
    )
    if changed != 1:
        return None
    claim = ReferralClaim.objects.select_related("referral", "affiliate").get(pk=claim_id)
    AuditLog.objects.create(
        at=now,
        actor=actor,
        action=f"referral_claim_{to}",
        affiliate=claim.affiliate,
        details={
            "claim": claim.pk,
            "customer_id": claim.referral.customer_id,
            "previous_affiliate": claim.previous_affiliate_id,
            "note": claim.decision_note,
        },
    )
    return claim


def accept_claim(*, claim_id: int, actor: User | None, note: str = "", now: datetime) -> bool:
    """Accept a pending claim: the customer moves to the claimant from `now` on (see the
    module's docstring for what stays). True when this call decided it."""
    with transaction.atomic():
        claim = _decide(
            claim_id=claim_id, to=ReferralClaim.State.ACCEPTED, actor=actor, note=note, now=now
        )
        if claim is None:
            return False
        referral = Referral.objects.select_for_update(of=("self",)).get(pk=claim.referral_id)
        claimant: Affiliate = claim.affiliate
        if referral.affiliate_id != claimant.pk:
            old = referral.affiliate.username if referral.affiliate else "nobody"
            who = actor.email if actor is not None else "an admin"
            note_words = (
                f"moved from {old} to {claimant.username} on {now:%Y-%m-%d}: claim "
                f"{claim.pk} ({claim.evidence}) accepted by {who}"
            )
            referral.affiliate = claimant
            referral.source = claim.source
            referral.coupon = claim.coupon
            referral.why = f"{note_words}; {referral.why}" if referral.why else note_words
            referral.save(update_fields=["affiliate", "source", "coupon", "why"])
            ReferralStatDue.objects.create(referral=referral)
    return True


def reject_claim(*, claim_id: int, actor: User | None, note: str = "", now: datetime) -> bool:
    """Reject a pending claim: the customer stays where it is. True when this call decided
    it."""
    with transaction.atomic():
        return (
            _decide(
                claim_id=claim_id, to=ReferralClaim.State.REJECTED, actor=actor, note=note, now=now
            )
            is not None
        )


def attribute_by_stripe_coupon(
    *,
    coupon: Coupon,
    stripe_customer_id: str,
    customer_id: str,
    email: str,
    evidence: str,
    now: datetime,
) -> Referral | None:
    """A Stripe invoice paid with an affiliate's coupon, for a customer nobody has: credit
    the coupon's affiliate (source "coupon", no cookie), by a signup's rules. The customer
    is the product's `customer_id` when the Stripe customer is linked to one (Referral,
    metadata or Checkout link), else a new referral keyed by the Stripe customer id itself
    (a seller that reports no signups). None, writing nothing, when the affiliate may not be
    credited or someone already has the customer (first referrer wins: a coupon on a later
    invoice of another affiliate's customer changes nothing)."""
    cand = _Candidate(
        "coupon", coupon.affiliate, f"coupon {coupon.code} of {coupon.affiliate.username}"
    )
    cand.coupon = coupon
    with transaction.atomic():
        qs = Referral.objects.select_for_update(of=("self",)).select_related("affiliate")
        referral = (qs.filter(customer_id=customer_id).first() if customer_id else None) or (
            qs.filter(stripe_customer_id=stripe_customer_id).first()
        )
        customer_email = (referral.email if referral is not None else "") or email
        refusal = candidate_refusal(cand.affiliate, customer_email=customer_email)
        if refusal:
            return None
        if referral is None:
            referral = Referral(
                customer_id=(customer_id or stripe_customer_id)[:200],
                email=(email or "").strip().lower()[:254],
                stripe_customer_id=stripe_customer_id,
                source=Referral.Source.NONE,
                created_at=now,
            )
            try:
                with transaction.atomic():
                    referral.save(force_insert=True)
            except IntegrityError:
                return None  # a concurrent signup reported the customer: its answer stands
        elif referral.affiliate_id is not None:
            return None
        if not referral.stripe_customer_id and not stripe_customer_is_linked(stripe_customer_id):
            referral.stripe_customer_id = stripe_customer_id
            referral.save(update_fields=["stripe_customer_id"])
        _attribute(referral, cand, why=evidence, now=now)
    return referral
