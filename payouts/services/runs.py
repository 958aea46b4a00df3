"""The payout run: for each affiliate and currency, an approved balance at or over the
threshold and not held becomes one payout carrying those entries (approved → in_payout),
PayPal payouts are grouped into batches, and sending is queued after commit. Also the
admin's approval of a run (PAYOUT_REQUIRE_APPROVAL) and "retry failed payouts".

One run at a time: a run-level lock taken as the transaction's first statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q

from affiliates.models import Affiliate, User
from commissions.models import CommissionEntry
from config import queue
from config.errors import Conflict
from config.money import to_decimal_string
from payouts.models import (
    Payout,
    PayoutAccount,
    PayoutItem,
    PayoutRun,
    PayoutSkip,
    PayPalBatch,
    new_key,
)
from payouts.selectors import hold_reason
from payouts.services.history import Cause, Kind, append, audit, event
from payouts.services.transitions import Outcome, move_entries_in_chunks, move_payouts, move_run

S = Payout.State
E = CommissionEntry.State


PAYPAL_BATCH_LIMIT = 15_000  # PayPal Payouts: at most 15,000 items per call


# Arbitrary constant naming the run-level PostgreSQL advisory lock (held to commit).
RUN_LOCK_KEY = 6_060_601


def _destination(account: PayoutAccount) -> str:
    if account.method == PayoutAccount.Method.PAYPAL:
        return account.paypal_email
    if account.method == PayoutAccount.Method.STRIPE:
        return account.stripe_account_id
    return ""


def _destination_snapshot(account: PayoutAccount) -> dict[str, str]:
    """Where this payout goes and who is paid, frozen on the payout at creation. Bank
    details only for manual payouts: a PayPal or Stripe payout has no use for them."""
    manual = account.method == PayoutAccount.Method.MANUAL
    return {
        "destination": _destination(account),
        "bank_details": account.bank_details if manual else "",
        "tax_legal_name": account.tax_legal_name,
        "tax_country": account.tax_country,
        "tax_id": account.tax_id,
        "tax_form": account.tax_form,
    }


@dataclass
class RunResult:
    run: PayoutRun | None
    payouts: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str, int, str]] = field(default_factory=list)
    carried: int = 0
    locked_out: bool = False
    lines: list[str] = field(default_factory=list)


class _DryRun(Exception):
    pass


class _NothingNew(Exception):
    pass


def _take_run_lock() -> bool:
    """A run-level mutex, taken as the transaction's first statement, before anything is
    read or a run row created: PostgreSQL's advisory lock (released at commit; a second
    run at once is locked out). On SQLite, a write that changes nothing takes the database
    write lock up front (a deferred transaction that read first could not upgrade later):
    a second run waits the busy timeout for the first to commit, then sees its work, or
    is locked out. The unique constraint on live items is the last guard everywhere."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [RUN_LOCK_KEY])
            return bool(cursor.fetchone()[0])
        try:
            cursor.execute(f"UPDATE {PayoutRun._meta.db_table} SET id = id WHERE 0")
        except OperationalError:  # "database is locked" past the busy timeout
            return False
        return True


def _adds_nothing(run: PayoutRun) -> bool:
    """A run that pays nothing and holds back only what the run before it already recorded
    (a second trigger of the same job, two beats, a manual run right after beat) would be
    an empty run and a copy of the skip rows: it is not recorded. A run that pays nothing
    but holds something new (a new hold, another amount) is, so the admin sees why."""
    if run.payout_count:
        return False
    key = ("affiliate_id", "currency", "amount", "reason")
    held = set(run.skips.values_list(*key))
    if not held:
        return True
    previous = PayoutRun.objects.filter(pk__lt=run.pk).order_by("-pk").first()
    return previous is not None and held <= set(previous.skips.values_list(*key))


def run_payouts(
    *,
    now: datetime,
    two_weekly_only: bool = False,
    dry_run: bool = False,
    affiliate_ids: Iterable[int] | None = None,
    source: str = "run_payouts",
    actor: User | None = None,
) -> RunResult:
    """For each affiliate and currency: the approved balance (negative entries included), if
    at or over the affiliate's threshold and not on hold, becomes one Payout whose items are
    those entries; the entries move approved → in_payout in the same transaction. Below the
    threshold or negative: carried forward (nothing moves)."""
    result = RunResult(run=None)
    try:
        with transaction.atomic():
            if not _take_run_lock():
                result.locked_out = True
                result.lines.append("Another payout run holds the lock; nothing done.")
                return result
            _build_run(
                result,
                now=now,
                two_weekly_only=two_weekly_only,
                affiliate_ids=affiliate_ids,
                cause=Cause.of(source, actor),
            )
            if dry_run:
                raise _DryRun
            if result.run is not None and _adds_nothing(result.run):
                raise _NothingNew  # rolls back the run row and its skip rows
    except _DryRun:
        result.lines.insert(0, "Dry run: nothing was written.")
        result.run = None
        return result
    except _NothingNew:
        result.lines = [
            "Nothing new to pay or hold: no run recorded"
            + (f"; {len(result.skipped)} still held as recorded before" if result.skipped else "")
            + f"; {result.carried} carried forward."
        ] + result.lines[1:]
        result.run = None
        return result
    if result.run is not None and result.payouts:
        queue.enqueue_on_commit("payouts.notify_run_summary", run_id=result.run.pk)
    return result


def _build_run(
    result: RunResult,
    *,
    now: datetime,
    two_weekly_only: bool,
    affiliate_ids: Iterable[int] | None,
    cause: Cause,
) -> None:
    entries = CommissionEntry.objects.filter(state=E.APPROVED)
    if two_weekly_only:
        entries = entries.filter(affiliate__payout_frequency=Affiliate.Frequency.TWO_WEEKLY)
    if affiliate_ids is not None:
        entries = entries.filter(affiliate_id__in=list(affiliate_ids))
    # An approved entry is never in a live payout (a failure clears `live` before moving it
    # back); excluding them anyway keeps a broken row from being paid twice.
    entries = entries.exclude(pk__in=PayoutItem.objects.filter(live=True).values("entry_id"))
    groups: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for entry_id, affiliate_id, currency, amount in (
        entries.values_list("id", "affiliate_id", "currency", "amount")
        .order_by("affiliate_id", "currency", "id")
        .iterator(chunk_size=5000)
    ):
        groups[(affiliate_id, currency)].append((entry_id, amount))

    affiliate_pks = {a for a, _ in groups}
    affiliates = Affiliate.objects.select_related("user").in_bulk(list(affiliate_pks))
    accounts = {
        a.affiliate_id: a for a in PayoutAccount.objects.filter(affiliate_id__in=affiliate_pks)
    }
    needs_approval = settings.PAYOUT_REQUIRE_APPROVAL
    run = PayoutRun.objects.create(
        started_at=now,
        two_weekly_only=two_weekly_only,
        state=PayoutRun.State.AWAITING_APPROVAL if needs_approval else PayoutRun.State.APPROVED,
    )
    result.run = run

    due: list[tuple[Payout, list[tuple[int, int]]]] = []
    skips: list[PayoutSkip] = []
    for (affiliate_id, currency), rows in groups.items():
        affiliate = affiliates[affiliate_id]
        total = sum(amount for _, amount in rows)
        # The threshold is in minor units and applies to each currency's balance alike.
        if total <= 0 or total < affiliate.payout_threshold:
            result.carried += 1
            continue
        account = accounts.get(affiliate_id)
        reason = hold_reason(affiliate=affiliate, account=account, now=now)
        if reason:
            skips.append(
                PayoutSkip(
                    run=run,
                    affiliate_id=affiliate_id,
                    currency=currency,
                    amount=total,
                    reason=reason,
                )
            )
            result.skipped.append((affiliate.username, currency, total, reason))
            continue
        assert account is not None
        payout = Payout(
            run=run,
            affiliate_id=affiliate_id,
            amount=total,
            currency=currency,
            method=account.method,
            **_destination_snapshot(account),
            state=S.AWAITING_APPROVAL if needs_approval else S.PENDING,
            idempotency_key=new_key("payout"),
            created_at=now,
            entry_count=len(rows),  # its items, created below; they never change
        )
        due.append((payout, rows))
        result.totals[currency] = result.totals.get(currency, 0) + total

    # PayPal payouts are grouped per currency into batches of ≤ 15,000 items; each batch's
    # sender_batch_id is stored now, before any call, and derived from the run's key.
    paypal_by_currency: dict[str, list[Payout]] = defaultdict(list)
    for payout, _ in due:
        if payout.method == PayoutAccount.Method.PAYPAL:
            paypal_by_currency[payout.currency].append(payout)
    batches: list[PayPalBatch] = []
    for currency, payouts in sorted(paypal_by_currency.items()):
        for start in range(0, len(payouts), PAYPAL_BATCH_LIMIT):
            batch = PayPalBatch.objects.create(
                run=run,
                sender_batch_id=f"{run.key}-{currency}-{start // PAYPAL_BATCH_LIMIT + 1}",
                created_at=now,
            )
            batches.append(batch)
            for payout in payouts[start : start + PAYPAL_BATCH_LIMIT]:
                payout.paypal_batch = batch

    created = Payout.objects.bulk_create([p for p, _ in due], batch_size=2000)
    # Each payout's history starts with its creation, and the idempotency key it will be
    # sent under (a PayPal payout's is its batch's sender_batch_id).
    append(
        event(
            payout_id=payout.pk,
            kind=Kind.STATE_CHANGED,
            cause=cause,
            now=now,
            to_state=payout.state,
            idempotency_key=(
                payout.paypal_batch.sender_batch_id
                if payout.paypal_batch
                else payout.idempotency_key
            ),
        )
        for payout in created
    )
    items = [
        PayoutItem(payout=payout, entry_id=entry_id, amount=amount)
        for payout, (_, rows) in zip(created, due, strict=True)
        for entry_id, amount in rows
    ]
    try:
        with transaction.atomic():
            PayoutItem.objects.bulk_create(items, batch_size=5000)
    except IntegrityError as exc:
        # Another run put one of these entries in a live payout: refuse the whole run.
        raise Conflict("An entry is already in a live payout; run refused.") from exc
    entry_ids = [item.entry_id for item in items]
    moved = move_entries_in_chunks(entry_ids, from_state=E.APPROVED, to_state=E.IN_PAYOUT, now=now)
    if moved != len(entry_ids):
        raise Conflict(
            f"Only {moved} of {len(entry_ids)} entries were still approved; run refused."
        )
    PayoutSkip.objects.bulk_create(skips, batch_size=2000)

    run.payout_count = len(created)
    run.totals = result.totals
    run.carried_count = result.carried
    run.save(update_fields=["payout_count", "totals", "carried_count"])
    if not created:  # only holds recorded: nothing will be sent
        move_run(run_id=run.pk, to=PayoutRun.State.DONE, now=now)
        run.refresh_from_db(fields=["state"])
    result.payouts = len(created)

    if not needs_approval:
        _enqueue_sending(batches=batches, payouts=created)
    result.lines.append(
        f"Run {run.pk}: {len(created)} payouts "
        + (
            ", ".join(f"{c} {to_decimal_string(v, c)}" for c, v in sorted(result.totals.items()))
            or "—"
        )
        + f"; {len(skips)} held; {result.carried} carried forward"
        + ("; awaiting admin approval" if needs_approval and created else "")
    )
    for username, currency, total, reason in result.skipped:
        result.lines.append(
            f"  held {username} {currency} {to_decimal_string(total, currency)}: {reason}"
        )


def _enqueue_sending(*, batches: Iterable[PayPalBatch], payouts: Iterable[Payout]) -> None:
    for batch in batches:
        queue.enqueue_on_commit("payouts.send_paypal_batch", batch_id=batch.pk)
    for payout in payouts:
        if payout.method == PayoutAccount.Method.STRIPE:
            queue.enqueue_on_commit("payouts.send_stripe_payout", payout_id=payout.pk)


def approve_run(*, run_id: int, actor: Any, now: datetime) -> int:
    """Admin approval (PAYOUT_REQUIRE_APPROVAL): the run's payouts become pending and go out."""
    cause = Cause.of("admin: approve run", actor)
    with transaction.atomic():
        if not move_run(
            run_id=run_id, to=PayoutRun.State.APPROVED, now=now, fields={"approved_by": cause.actor}
        ):
            return 0
        waiting = Payout.objects.filter(run_id=run_id).values_list("pk", flat=True)
        pending = move_payouts(ids=list(waiting), to=S.PENDING, now=now, cause=cause)
        audit(action="payout_run_approved", affiliate=None, actor=actor, now=now, run=run_id)
        # Suspended or deactivated since the run was built: not paid; the entries go back to
        # approved and wait (held) like any other balance of a held affiliate.
        held = Payout.objects.filter(pk__in=pending).filter(
            Q(affiliate__status=Affiliate.Status.SUSPENDED) | Q(affiliate__user__is_active=False)
        )
        held_ids = move_payouts(
            ids=list(held.values_list("pk", flat=True)),
            to=S.FAILED,
            now=now,
            cause=cause,
            outcome=Outcome(reason="affiliate suspended or deactivated: held"),
        )
        going = Payout.objects.filter(pk__in=pending).exclude(pk__in=held_ids)
        _enqueue_sending(batches=PayPalBatch.objects.filter(run_id=run_id), payouts=going)
    return len(pending) - len(held_ids)


def retry_failed(*, payout_ids: Iterable[int], actor: Any, now: datetime) -> RunResult:
    """Admin "retry": the failed payouts' entries are approved again; a run for just those
    affiliates pays them now (under the same threshold and hold rules)."""
    affiliate_ids = set(
        Payout.objects.filter(pk__in=list(payout_ids), state=S.FAILED).values_list(
            "affiliate_id", flat=True
        )
    )
    if not affiliate_ids:
        return RunResult(run=None, lines=["No failed payouts selected."])
    return run_payouts(
        now=now,
        affiliate_ids=affiliate_ids,
        source="admin: retry failed payouts",
        actor=actor if isinstance(actor, User) else None,
    )
