"""Every e-mail the program sends, by name. Each one's templates are under
templates/emails/<name>/; its `sample` builds made-up, unsaved rows for the admin previews
(emails.admin_views) and for the test that renders every e-mail in every language.

Who sends what: affiliates.services (application and account status), commissions
(commissions approved), payouts.services.notifications (payout sent / failed / unclaimed,
the run summary), payouts.services.accounts (the security notices: payout or tax details
changed, the PayPal confirmation),
emails.services (the daily digest and the monthly report)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from affiliates.models import Affiliate
from config.emails import Email, register

# What the unsubscribe page names for each flag (affiliates.services.EMAIL_PREFERENCES).
PREFERENCE_LABELS = {
    "email_commission_approved": _("e-mails when commissions are approved"),
    "email_payout_sent": _("e-mails when a payout is sent"),
    "email_monthly_report": _("the monthly report"),
    "email_commission_digest": _("the daily digest of new commissions"),
}


def sample_affiliate() -> Affiliate:
    return Affiliate(
        username="nora",
        public_id="sample0000000000",
        status_note="Please add a website that shows your audience.",
    )


def _status() -> dict[str, Any]:
    return {"affiliate": sample_affiliate()}


def _payout(**fields: Any) -> dict[str, Any]:
    from payouts.models import Payout, PayoutAccount
    from payouts.services.notifications import payout_context

    values = {
        "amount": 123450,  # USD 1,234.50
        "currency": "USD",
        "method": PayoutAccount.Method.PAYPAL,
        "destination": "nora@example.org",
        "reference": "5UXD2E8A7EBQJ",
        "failure_reason": "Receiver account is restricted",
        **fields,
    }
    return payout_context(Payout(affiliate=sample_affiliate(), **values))


def _digest() -> dict[str, Any]:
    from commissions.models import CommissionEntry
    from emails.services import digest_context

    kind = CommissionEntry.Kind
    entries = [
        CommissionEntry(kind=kind.SIGNUP, amount=500, currency="USD", rule="Signup bounty"),
        CommissionEntry(kind=kind.FIRST_PAYMENT, amount=2400, currency="USD", rule="20 %"),
        CommissionEntry(kind=kind.RECURRING, amount=1800, currency="EUR", rule="15 %"),
    ]
    # Totals: USD 500 + 2,400 = 2,900 cents; EUR 1,800 cents.
    return digest_context(day=date(2026, 11, 2), entries=entries)


def _monthly() -> dict[str, Any]:
    from emails.services import MonthlyReport

    report = MonthlyReport(
        month=date(2026, 10, 1),
        clicks=1204,
        signups=31,
        upgrades=7,
        earnings=[("EUR", 4200), ("USD", 18750)],
        tier_number=2,
        plan_name="Partners",
        leaderboard=[(1, "lena", 250000), (2, "Affiliate #2", 180000), (3, "nora", 90000)],
        leaderboard_currency="USD",
        your_rank=3,
    )
    return {"report": report, "now": datetime(2026, 11, 2, 9, 7, tzinfo=UTC)}


def _dispute(status: str) -> dict[str, Any]:
    from commissions.models import CommissionEntry, Dispute, Payment
    from emails.notices import dispute_context
    from tracking.models import Referral

    at = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    referral = Referral(customer_id="cus_R4nd0m", affiliate=sample_affiliate())
    payment = Payment(
        pk=0,
        provider="stripe",
        external_id="in_1QxSample",
        referral=referral,
        customer_id="cus_R4nd0m",
        amount=4900,  # USD 49.00
        currency="USD",
        paid_at=at,
        product_plan="Pro",
    )
    dispute = Dispute(
        provider="stripe",
        external_id="dp_1QxSample",
        payment=payment,
        payment_ref="ch_1QxSample",
        amount=4900,
        currency="USD",
        status=status,
        opened_at=at,
        closed_at=None if status == Dispute.Status.OPEN else at,
    )
    entry = CommissionEntry(
        affiliate=sample_affiliate(),
        kind=CommissionEntry.Kind.FIRST_PAYMENT,
        amount=980,  # 20 % of 4,900 cents
        currency="USD",
    )
    return dispute_context(dispute, [entry])


def _plan() -> dict[str, Any]:
    from affiliates.models import Plan

    plan = Plan(
        name="Partners",
        signup_bounty=25,  # USD 0.25
        first_payment_bp=5000,
        recurring_bp=2000,
        recurring_months=12,
        use_tiers=True,
    )
    return {"affiliate": sample_affiliate(), "plan": plan, "override_bp": None, "currency": "USD"}


register(Email("application_received", "Application received (to the applicant)", _status))
register(Email("application_approved", "Application approved", _status))
register(Email("application_rejected", "Application rejected, with the note", _status))
register(Email("account_suspended", "Account suspended, with the note", _status))
register(
    Email(
        "commissions_approved",
        "Commissions passed their hold",
        _status,
        preference="email_commission_approved",
    )
)
register(Email("payout_sent", "Payout sent", _payout, preference="email_payout_sent"))
register(Email("payout_failed", "Payout failed, with what to fix", lambda: _payout(state="failed")))
register(
    Email(
        "payout_unclaimed",
        "Payout unclaimed at PayPal",
        lambda: _payout(state="sending", provider_status="UNCLAIMED"),
    )
)
register(
    Email(
        "commission_digest",
        "Daily digest of the day's new commissions",
        _digest,
        preference="email_commission_digest",
    )
)
register(
    Email(
        "monthly_report",
        "Monthly report (the 2nd): last month's figures and the leaderboard",
        _monthly,
        preference="email_monthly_report",
    )
)
register(
    Email(
        "dispute_opened",
        "To managers: a dispute opened, with payment, customer, affiliate, entries",
        lambda: _dispute("open"),
        to_managers=True,
    )
)
register(
    Email(
        "dispute_closed",
        "To managers: a dispute won or lost, with its case",
        lambda: _dispute("lost"),
        to_managers=True,
    )
)


def _details_changed(*, by_staff: bool) -> dict[str, Any]:
    from payouts.services.accounts import details_changed_context

    reason = "Affiliate lost access to the old mailbox; asked by phone" if by_staff else ""
    at = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    context = details_changed_context(
        what="PayPal e-mail", now=at, reason=reason, by_staff=by_staff
    )
    return {"affiliate": sample_affiliate(), **context}


def _paypal_confirm() -> dict[str, Any]:
    from config.emails import absolute

    return {
        "paypal_email": "nora@paypal.example.org",
        "confirm_url": absolute("/payouts/paypal/confirm/sampletoken0000/"),
    }


def _run_summary() -> dict[str, Any]:
    from payouts.models import PayoutRun, PayoutSkip
    from payouts.services.notifications import run_summary_context

    run = PayoutRun(
        pk=42,
        started_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
        state=PayoutRun.State.AWAITING_APPROVAL,
        payout_count=3,
        totals={"EUR": 4200, "USD": 18750},  # EUR 42.00; USD 187.50
        carried_count=5,
    )
    skips = [
        PayoutSkip(
            affiliate=sample_affiliate(),
            currency="USD",
            amount=9000,  # USD 90.00
            reason="payout details changed, held until 2026-11-03 10:30 UTC",
        )
    ]
    return run_summary_context(run, by_method={"paypal": 2, "manual": 1}, skips=skips, skip_count=1)


register(
    Email(
        "payout_details_changed",
        "Security: payout details changed, the payout hold (shown: by staff, with the reason)",
        lambda: _details_changed(by_staff=True),
    )
)
register(
    Email(
        "paypal_confirm",
        "Confirm a new PayPal e-mail (to that address, in the affiliate's language)",
        _paypal_confirm,
    )
)
register(
    Email(
        "tax_details_changed",
        "Security: staff changed the tax details, with the reason",
        lambda: {
            "affiliate": sample_affiliate(),
            "when": "2026-11-02 10:30",
            "reason": "Legal name corrected from the signed W-9",
        },
    )
)
register(
    Email(
        "payout_run_summary",
        "To managers: a payout run's summary (count, totals, what was held)",
        _run_summary,
        to_managers=True,
    )
)
register(Email("plan_changed", "The affiliate's plan or rates changed: its rates now", _plan))
