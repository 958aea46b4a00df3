"""Every write to affiliates: plain keyword-only functions owning their transactions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from affiliates.models import Affiliate, ApiKey, AuditLog, Plan, User, Username
from affiliates.selectors import forget_usernames, hash_api_key
from affiliates.usernames import validate_username
from affiliates.webhook_events import emit_affiliate
from config.emails import send_to_affiliate
from config.errors import Conflict, ServiceError

Status = Affiliate.Status

# Every allowed status move (DESIGN.md), by the action that makes it: (from, to). An
# applicant is approved or rejected; a rejected applicant may still be approved later (an
# admin changing their mind); an approved affiliate may be suspended, and a suspended one
# reinstated. `_transition` is the one place that moves a status, and only along this table.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({Status.APPLIED, Status.REJECTED}), Status.APPROVED),
    "reject": (frozenset({Status.APPLIED}), Status.REJECTED),
    "suspend": (frozenset({Status.APPROVED}), Status.SUSPENDED),
    "reinstate": (frozenset({Status.SUSPENDED}), Status.APPROVED),
}
# The milestone timestamp each target status stamps.
_STAMP: dict[str, str] = {
    Status.APPROVED: "approved_at",
    Status.REJECTED: "rejected_at",
    Status.SUSPENDED: "suspended_at",
}


def create_api_key(*, name: str, now: datetime) -> tuple[ApiKey, str]:
    """Returns the stored key and the raw key (shown once, never stored)."""
    raw = "amb_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name, prefix=raw[:12], hashed_key=hash_api_key(raw), created_at=now
    )
    return key, raw


def revoke_api_keys(*, keys, now: datetime) -> int:
    """Revoke keys (a queryset) not revoked yet; a revoked key never authenticates again."""
    return keys.filter(revoked_at__isnull=True).update(revoked_at=now)


# How stale ApiKey.last_used_at may get: "used within the last minute" is all anyone reads
# from it (is this key still in use?), and a write per request would double the cost of
# every API call and contend on one row under a burst of payments.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def touch_api_key(*, key: ApiKey, now: datetime) -> bool:
    """Record that `key` authenticated a request, at most once per API_KEY_TOUCH_INTERVAL.

    `key` is the row just read to authenticate, so a fresh timestamp costs no query at all;
    a stale one costs one conditional UPDATE (compare-and-set: of many concurrent requests
    with the same stale key only one writes). Returns whether this call wrote."""
    cutoff = now - API_KEY_TOUCH_INTERVAL
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return False
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    wrote = ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now) == 1
    key.last_used_at = now
    return wrote


@transaction.atomic
def set_user_active(*, user: User, active: bool, now: datetime, actor: User | None) -> bool:
    """Deactivate (or reactivate) an account. An inactive user's affiliate links stop being
    honoured at once: the resolver's answers carry the user's flag, so they are dropped on
    commit like after a status change. Returns whether anything changed."""
    changed = User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
    user.is_active = active
    if changed:
        affiliate = Affiliate.objects.filter(user_id=user.pk).first()
        AuditLog.objects.create(
            at=now,
            actor=actor,
            action="user.activated" if active else "user.deactivated",
            affiliate=affiliate,
            details={"email": user.email},
        )
        if affiliate is not None:
            _forget_all_names_on_commit(affiliate.pk)
    return bool(changed)


def _forget_all_names_on_commit(affiliate_id: int, *extra: str) -> None:
    """The tracking redirect caches username → affiliate; after any change to a username or a
    status every name the affiliate ever held must be re-read, so drop them all once the
    change is visible to other connections (on commit). Local work, not a task: it must
    happen in this process too (its memo), and at once, not when a worker gets to it."""
    names = list(Username.objects.filter(affiliate_id=affiliate_id).values_list("name", flat=True))
    names.extend(extra)
    transaction.on_commit(lambda: forget_usernames(names))


def _add_username_row(*, affiliate: Affiliate, name: str, now: datetime) -> None:
    # The unique constraints on name and skeleton are the real guard against two people
    # taking the same (or a look-alike) name at once; validation only explains it nicely.
    try:
        with transaction.atomic():
            Username.objects.create(name=name, affiliate=affiliate, created_at=now)
    except IntegrityError as exc:
        message = _("“%(name)s” is taken.") % {"name": name}
        raise ServiceError(message, code="taken", fields={"username": [message]}) from exc


@transaction.atomic
def create_affiliate(
    *,
    email: str,
    username: str,
    now: datetime,
    password: str | None = None,
    approved: bool = False,
    plan: Plan | None = None,
) -> Affiliate:
    """A user and its affiliate profile at once (the `create_affiliate` command, demos)."""
    username = validate_username(username)
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email=email).exists():
        message = _("An account with the e-mail %(email)s already exists.") % {"email": email}
        raise ServiceError(message, code="email_taken", fields={"email": [message]})
    user = User.objects.create_user(email=email, password=password, date_joined=now)
    affiliate = Affiliate.objects.create(
        user=user,
        username=username,
        plan=plan or Plan.objects.filter(is_default=True).first(),
        applied_at=now,
        created_at=now,
        status=Status.APPROVED if approved else Status.APPLIED,
        approved_at=now if approved else None,
    )
    _add_username_row(affiliate=affiliate, name=username, now=now)
    _forget_all_names_on_commit(affiliate.pk)
    emit_affiliate(affiliate_id=affiliate.pk, type=f"affiliate.{affiliate.status}", now=now)
    return affiliate


@transaction.atomic
def create_user(*, email: str, password: str, now: datetime) -> User:
    """Sign up: an account only; the affiliate profile comes with the application."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email=email).exists():
        message = _("An account with this e-mail already exists. Log in or reset your password.")
        raise ServiceError(message, code="email_taken", fields={"email": [message]})
    return User.objects.create_user(email=email, password=password, date_joined=now)


@transaction.atomic
def submit_application(
    *,
    user: User,
    username: str,
    now: datetime,
    accepted_terms: bool,
    website: str = "",
    audience: str = "",
    promotion: str = "",
    is_paying_customer: bool = False,
) -> Affiliate:
    """An account applies to the program. Paying customers are approved at once when
    settings.AUTO_APPROVE_PAYING_CUSTOMERS is on; everybody else waits for an admin.

    `is_paying_customer` must come from a trusted source (the product's backend, an admin),
    never from the applicant's own form."""
    if Affiliate.objects.filter(user=user).exists():
        raise Conflict(_("You have already applied."), code="already_applied")
    if not accepted_terms:
        message = _("You must accept the program terms.")
        raise ServiceError(message, code="terms", fields={"accept_terms": [message]})
    username = validate_username(username)
    affiliate = Affiliate.objects.create(
        user=user,
        username=username,
        plan=Plan.objects.filter(is_default=True).first(),
        status=Status.APPLIED,
        applied_at=now,
        created_at=now,
        terms_accepted_at=now,
        website=website,
        audience=audience,
        promotion=promotion,
        is_paying_customer=is_paying_customer,
    )
    _add_username_row(affiliate=affiliate, name=username, now=now)
    _forget_all_names_on_commit(affiliate.pk)
    emit_affiliate(affiliate_id=affiliate.pk, type="affiliate.applied", now=now)
    if is_paying_customer and settings.AUTO_APPROVE_PAYING_CUSTOMERS:
        return approve_affiliate(affiliate=affiliate, now=now, note="Paying customer")
    send_status_email(affiliate_id=affiliate.pk, event="applied")
    return affiliate


@transaction.atomic
def mark_paying_customer(*, affiliate: Affiliate, now: datetime) -> Affiliate:
    """The product (or an admin) says this affiliate pays: flag it, and approve a waiting
    application when the program auto-approves paying customers."""
    Affiliate.objects.filter(pk=affiliate.pk).update(is_paying_customer=True)
    affiliate.is_paying_customer = True
    if affiliate.status == Status.APPLIED and settings.AUTO_APPROVE_PAYING_CUSTOMERS:
        return approve_affiliate(affiliate=affiliate, now=now, note="Paying customer")
    return affiliate


def _transition(
    *, action: str, affiliate: Affiliate, now: datetime, actor: User | None, note: str
) -> Affiliate:
    """Move `affiliate` by TRANSITIONS[action]. Compare-and-set: the row moves only from one
    of the action's source statuses; side effects (audit row, e-mail, resolver cache) only
    when exactly this call moved it."""
    sources, to = TRANSITIONS[action]
    changes = {"status": to, _STAMP[to]: now}
    if note:
        changes["status_note"] = note[:300]
    with transaction.atomic():
        moved = Affiliate.objects.filter(pk=affiliate.pk, status__in=sources).update(**changes)
        if moved != 1:
            current = Affiliate.objects.filter(pk=affiliate.pk).values_list("status", flat=True)
            was = next(iter(current), "missing")
            raise Conflict(
                f"{affiliate.username} is {was}; it cannot become {to}.", code="bad_transition"
            )
        AuditLog.objects.create(
            at=now,
            actor=actor,
            action=f"affiliate.{to}",
            affiliate=affiliate,
            details={"note": note} if note else {},
        )
        _forget_all_names_on_commit(affiliate.pk)
        send_status_email(affiliate_id=affiliate.pk, event=to)
        if action == "approve":  # reinstating a suspended affiliate is not an approval
            emit_affiliate(affiliate_id=affiliate.pk, type="affiliate.approved", now=now)
    affiliate.refresh_from_db()
    return affiliate


def approve_affiliate(
    *, affiliate: Affiliate, now: datetime, actor: User | None = None, note: str = ""
) -> Affiliate:
    return _transition(action="approve", affiliate=affiliate, now=now, actor=actor, note=note)


def reject_affiliate(
    *, affiliate: Affiliate, now: datetime, actor: User | None = None, note: str = ""
) -> Affiliate:
    return _transition(action="reject", affiliate=affiliate, now=now, actor=actor, note=note)


def suspend_affiliate(
    *, affiliate: Affiliate, now: datetime, actor: User | None = None, note: str = ""
) -> Affiliate:
    return _transition(action="suspend", affiliate=affiliate, now=now, actor=actor, note=note)


def reinstate_affiliate(
    *, affiliate: Affiliate, now: datetime, actor: User | None = None, note: str = ""
) -> Affiliate:
    return _transition(action="reinstate", affiliate=affiliate, now=now, actor=actor, note=note)


@transaction.atomic
def change_username(*, affiliate: Affiliate, new_username: str, now: datetime) -> Affiliate:
    """The current username becomes an alias (retired_at set) that keeps resolving to this
    affiliate and can never be taken by anyone else; an own earlier alias may come back."""
    # Lock the row: two changes at once would otherwise both retire the same name.
    locked = Affiliate.objects.select_for_update().get(pk=affiliate.pk)
    name = validate_username(new_username, affiliate=locked)
    old = locked.username
    if name == old:
        return locked
    _check_rename_limit(affiliate=locked, now=now)
    Username.objects.filter(affiliate=locked, name=old).update(retired_at=now)
    if not Username.objects.filter(affiliate=locked, name=name).update(retired_at=None):
        _add_username_row(affiliate=locked, name=name, now=now)
    locked.username = name
    locked.save(update_fields=["username"])
    AuditLog.objects.create(
        at=now,
        actor=locked.user,
        action="affiliate.username_changed",
        affiliate=locked,
        details={"from": old, "to": name},
    )
    _forget_all_names_on_commit(locked.pk, name, old)
    affiliate.username = name
    return locked


def _check_rename_limit(*, affiliate: Affiliate, now: datetime) -> None:
    """At most settings.USERNAME_CHANGE_LIMIT renames per USERNAME_CHANGE_PERIOD_DAYS: every
    name ever held stays reserved for its affiliate, so unlimited renames would let one
    affiliate squat a dozen names in seconds. Counted from the audit log (returning to an
    own alias counts too: it retires the current name all the same), under the caller's row
    lock, so two renames at once cannot both pass the count."""
    limit = settings.USERNAME_CHANGE_LIMIT
    period = timedelta(days=settings.USERNAME_CHANGE_PERIOD_DAYS)
    recent = list(
        AuditLog.objects.filter(
            affiliate=affiliate, action="affiliate.username_changed", at__gt=now - period
        )
        .order_by("at")
        .values_list("at", flat=True)
    )
    if len(recent) < limit:
        return
    # The oldest change still counted leaves the window first.
    next_at = recent[len(recent) - limit] + period
    message = ngettext(
        "You can change your username %(limit)d time in %(days)d days; the next change is "
        "possible on %(when)s UTC.",
        "You can change your username %(limit)d times in %(days)d days; the next change is "
        "possible on %(when)s UTC.",
        limit,
    ) % {
        "limit": limit,
        "days": settings.USERNAME_CHANGE_PERIOD_DAYS,
        "when": f"{next_at:%Y-%m-%d %H:%M}",
    }
    raise ServiceError(message, code="rename_limit", status=429, fields={"username": [message]})


def start_impersonation(*, actor: User, affiliate: Affiliate, now: datetime) -> AuditLog:
    """Records a program manager opening an affiliate's dashboard as the affiliate (the view
    swaps the session). Refused for anyone without the permission, and for staff targets
    (impersonating a staff account would be a privilege escalation)."""
    if not actor.is_active or not actor.has_perm("affiliates.impersonate_affiliate"):
        raise ServiceError(
            "Only program managers may log in as an affiliate.",
            code="permission_denied",
            status=403,
        )
    if affiliate.user.is_staff or affiliate.user.is_superuser:
        raise ServiceError(
            "Staff accounts cannot be impersonated.", code="permission_denied", status=403
        )
    return AuditLog.objects.create(
        at=now,
        actor=actor,
        action="impersonation.start",
        affiliate=affiliate,
        details={"actor_email": actor.email, "affiliate_email": affiliate.user.email},
    )


def stop_impersonation(*, actor: User, affiliate: Affiliate | None, now: datetime) -> AuditLog:
    return AuditLog.objects.create(
        at=now, actor=actor, action="impersonation.stop", affiliate=affiliate
    )


# --- preferences ---------------------------------------------------------------------


def set_language(*, affiliate: Affiliate, language: str) -> Affiliate:
    """Remember the affiliate's language (pages after login, e-mails). Only a code of
    settings.LANGUAGES, or "" for "follow the browser"."""
    if language and language not in {code for code, _ in settings.LANGUAGES}:
        raise ServiceError(_("Choose one of the offered languages."), fields={"language": []})
    if affiliate.language != language:
        affiliate.language = language
        Affiliate.objects.filter(pk=affiliate.pk).update(language=language)
    return affiliate


# The Affiliate flags of optional e-mails (emails.catalog gates each optional mail by one).
EMAIL_PREFERENCES = (
    "email_commission_approved",
    "email_payout_sent",
    "email_monthly_report",
    "email_commission_digest",
)


def set_email_preferences(
    *,
    affiliate: Affiliate,
    commission_approved: bool,
    payout_sent: bool,
    monthly_report: bool,
    commission_digest: bool,
) -> Affiliate:
    """Which optional e-mails the affiliate gets. Security and transactional mail is not
    among them and cannot be turned off."""
    affiliate.email_commission_approved = commission_approved
    affiliate.email_payout_sent = payout_sent
    affiliate.email_monthly_report = monthly_report
    affiliate.email_commission_digest = commission_digest
    affiliate.save(update_fields=list(EMAIL_PREFERENCES))
    return affiliate


def turn_off_email(*, affiliate: Affiliate, preference: str) -> None:
    """Turn one optional e-mail off (an unsubscribe link, emails.views). Only the flags of
    EMAIL_PREFERENCES; repeating it changes nothing."""
    if preference not in EMAIL_PREFERENCES:
        raise ValueError(f"Not an e-mail preference: {preference!r}")
    Affiliate.objects.filter(pk=affiliate.pk).update(**{preference: False})
    setattr(affiliate, preference, False)


def set_leaderboard_opt_in(*, affiliate: Affiliate, opt_in: bool) -> Affiliate:
    """Whether the prize leaderboard shows the affiliate's username (off: "Affiliate #rank")."""
    affiliate.leaderboard_opt_in = opt_in
    affiliate.save(update_fields=["leaderboard_opt_in"])
    return affiliate


# --- e-mail ---------------------------------------------------------------------------

# The registered e-mail (emails.catalog, templates/emails/<name>/) for each status event.
_STATUS_EMAILS = {
    "applied": "application_received",
    Status.APPROVED: "application_approved",
    Status.REJECTED: "application_rejected",
    Status.SUSPENDED: "account_suspended",
}


def send_status_email(*, affiliate_id: int, event: str) -> None:
    """E-mail the affiliate about its application or status, once the caller's transaction
    commits (config.mail queues it then, and never for a rolled-back change). Rendered now,
    in the affiliate's language, from the row as this transaction sees it."""
    affiliate = Affiliate.objects.select_related("user").get(pk=affiliate_id)
    send_to_affiliate(_STATUS_EMAILS[event], affiliate=affiliate, context={})


def make_default_plan(*, plan: Plan, actor: User | None, now: datetime) -> Plan:
    """Make `plan` the default (the plan of every affiliate without its own), taking the
    flag from the previous default in the same transaction, so there is never a moment
    without one. This is the only way the flag moves: the admin shows it read-only and
    refuses to delete the default plan, because commissions.rules.default_plan refuses to
    guess figures when no plan is default (payments would wait)."""
    with transaction.atomic():
        previous = list(
            Plan.objects.select_for_update()
            .filter(is_default=True)
            .exclude(pk=plan.pk)
            .values_list("name", flat=True)
        )
        Plan.objects.filter(is_default=True).exclude(pk=plan.pk).update(is_default=False)
        try:
            with transaction.atomic():
                Plan.objects.filter(pk=plan.pk).update(is_default=True)
        except IntegrityError:
            # A concurrent call made another plan default between our two statements.
            raise Conflict(
                "Another plan was just made the default; reload and try again.",
                code="default_plan_changed",
            ) from None
        AuditLog.objects.create(
            at=now,
            actor=actor,
            action="plan.made_default",
            details={"plan": plan.name, "previous": previous},
        )
    plan.is_default = True
    return plan
