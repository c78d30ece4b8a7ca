"""Survey invites: who is invited, sending them at the campaign's pace, reminders,
the smoke test to the team, "I lost my link" and unsubscribing.

Sending is resumable: each invite is marked sent right after its own email, so a
crash in the middle of a batch resends nothing that went out. Invites are made
in bulk (a campaign has up to 250,000 backers) and one non-test invite per
backer is guaranteed by the database, so running anything twice is harmless.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from urllib.parse import urljoin

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership
from pledges.models import Backer, PaymentStatus

from ..errors import SurveysError
from ..links import magic_link, unsubscribe_link
from ..models import Survey, SurveyInvite, SurveyResponse, SurveyStatus

logger = logging.getLogger(__name__)

CREATE_BATCH = 5_000
REMINDER_BATCH = 200
# A claimed reminder batch is pushed this far ahead: a second beat skips it, and
# a worker that dies mid-batch leaves the rest to be retried after it.
REMINDER_LEASE = timedelta(hours=1)
LOST_LINK_LIMIT = 3  # emails per address and hour
LOST_LINK_WINDOW = 3600
LOST_LINK_MAX_INVITES = 5  # one address behind several pledges: each gets its link
SEND_ERROR_MAX = 300


class SendingRefused(SurveysError):
    """Invites cannot go out now (the survey is not live, or not in smoke test)."""

    code = "sending_refused"


# --- who is invited ----------------------------------------------------------


def eligible_backers(*, survey: Survey) -> QuerySet[Backer]:
    """Backers of the survey's campaign who should get an invite and have none yet.

    They have an email, were not merged into another backer, and their pledge
    was collected (or dropped/errored too when the survey includes those)."""
    statuses = [PaymentStatus.COLLECTED]
    if survey.include_dropped:
        statuses += [PaymentStatus.DROPPED, PaymentStatus.ERRORED]
    invited = SurveyInvite.objects.filter(backer=OuterRef("pk"), is_test=False)
    return (
        Backer.objects.filter(
            campaign_id=survey.campaign_id,
            merged_into__isnull=True,
            pledges__payment_status__in=statuses,
        )
        .exclude(email="")
        .exclude(Exists(invited))
    )


def _require_live(survey: Survey) -> None:
    if survey.status != SurveyStatus.LIVE:
        raise SendingRefused(
            _("Invites go out only while the survey is live (it is %(status)s).")
            % {"status": survey.get_status_display().lower()}
        )


def create_invites(*, survey: Survey) -> int:
    """Make an invite for every eligible backer; returns how many were made.

    Only for a live survey. Rows are inserted in batches of CREATE_BATCH (never
    a save per backer) and each batch commits on its own: an interrupted run is
    finished by running it again. A backer invited meanwhile by a parallel run
    is skipped by the one-invite-per-backer constraint."""
    _require_live(survey)
    made = 0
    after = 0
    while True:
        batch = list(
            eligible_backers(survey=survey)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "email")[:CREATE_BATCH]
        )
        if not batch:
            return made
        after = batch[-1][0]
        before = _invite_count(survey)
        SurveyInvite.objects.bulk_create(
            [SurveyInvite(survey=survey, backer_id=pk, email=email) for pk, email in batch],
            batch_size=CREATE_BATCH,
            ignore_conflicts=True,
        )
        made += _invite_count(survey) - before


def _invite_count(survey: Survey) -> int:
    return SurveyInvite.objects.filter(survey=survey, is_test=False).count()


def unsent_invites(*, survey: Survey) -> QuerySet[SurveyInvite]:
    """Real invites still to send: never sent and not failed."""
    return SurveyInvite.objects.filter(
        survey=survey, is_test=False, sent_at__isnull=True, send_error=""
    )


# --- emails ------------------------------------------------------------------


def _response_of(invite: SurveyInvite) -> SurveyResponse | None:
    try:
        return invite.response
    except SurveyResponse.DoesNotExist:
        return None


def invite_language(*, invite: SurveyInvite, survey: Survey) -> str:
    """The language the backer reads: their response's, else the survey's first."""
    response = _response_of(invite)
    if response is not None and response.language:
        return response.language
    return (survey.languages or [settings.LANGUAGE_CODE])[0]


def _sender(campaign) -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return formataddr((campaign.sender_name or campaign.name, address))


def _logo_url(campaign) -> str:
    if not campaign.logo:
        return ""
    return urljoin(settings.SITE_URL.rstrip("/") + "/", campaign.logo.url)


def _email(
    *, kind: str, invite: SurveyInvite, survey: Survey, connection, subject_prefix: str = ""
) -> EmailMultiAlternatives:
    """The branded email `kind` (invite, reminder, lost_link) for this invite."""
    campaign = survey.campaign
    language = invite_language(invite=invite, survey=survey)
    intro = (survey.texts.get(language) or {}).get("intro") or campaign.intro_text
    context = {
        "campaign": campaign,
        "survey": survey,
        "invite": invite,
        "backer": invite.backer,
        "link": magic_link(invite),
        "unsubscribe_link": unsubscribe_link(invite),
        "logo_url": _logo_url(campaign),
        "intro": intro,
        "language": language,
        "lock_at": campaign.survey_lock_at,
        "link_days": survey.link_max_age_days,
    }
    with translation.override(language):
        subject = render_to_string(f"surveys/email/{kind}_subject.txt", context)
        text = render_to_string(f"surveys/email/{kind}.txt", context)
        html = render_to_string(f"surveys/email/{kind}.html", context)
    subject = subject_prefix + " ".join(subject.split())
    headers = {}
    if kind in ("invite", "reminder"):
        headers = {
            "List-Unsubscribe": f"<{context['unsubscribe_link']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=_sender(campaign),
        to=[invite.email],
        reply_to=[campaign.sender_email] if campaign.sender_email else None,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def _error_text(exc: Exception) -> str:
    return (f"{type(exc).__name__}: {exc}")[:SEND_ERROR_MAX]


# Errors of one message (refused recipient, broken address); the rest go on.
MAIL_ERRORS = (OSError, ValueError)


# --- sending -----------------------------------------------------------------


def send_invite_batch(*, survey: Survey, limit: int) -> int:
    """Email up to `limit` unsent invites in pk order; returns how many went out.

    Only for a live survey. Each invite is claimed with a row lock (a parallel
    batch skips it), emailed, and marked sent (with its first reminder date) in
    its own transaction, so a crash never resends what went out. A failing
    email stores its error on the invite and the batch goes on."""
    _require_live(survey)
    candidates = list(
        unsent_invites(survey=survey).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    sent = 0
    with get_connection() as connection:
        for pk in candidates:
            with transaction.atomic():
                invite = (
                    unsent_invites(survey=survey)
                    .select_for_update(skip_locked=True, of=("self",))
                    .select_related("backer")
                    .filter(pk=pk)
                    .first()
                )
                if invite is None:
                    continue  # sent or claimed by a parallel batch
                invite.survey = survey
                try:
                    _email(
                        kind="invite", invite=invite, survey=survey, connection=connection
                    ).send()
                except MAIL_ERRORS as exc:
                    logger.warning("Survey invite %s not sent: %s", invite.pk, exc)
                    invite.send_error = _error_text(exc) or "error"
                    invite.save(update_fields=["send_error"])
                    continue
                invite.sent_at = timezone.now()
                invite.next_reminder_at = next_reminder_at(invite=invite, survey=survey)
                invite.save(update_fields=["sent_at", "next_reminder_at"])
                sent += 1
    return sent


def retry_failed(*, survey: Survey) -> int:
    """Put failed invites back in the queue (their error is cleared); returns how many.

    Only for a live survey; the next send picks them up."""
    _require_live(survey)
    return (
        SurveyInvite.objects.filter(survey=survey, is_test=False, sent_at__isnull=True)
        .exclude(send_error="")
        .update(send_error="")
    )


# --- reminders ---------------------------------------------------------------


def _reminder_offset_days(survey: Survey, n: int) -> int | None:
    days = sorted(int(d) for d in (survey.reminder_days or []))
    if n < len(days):
        return days[n]
    if not survey.reminder_weekly:
        return None
    return (days[-1] if days else 0) + 7 * (n - len(days) + 1)


def next_reminder_at(*, invite: SurveyInvite, survey: Survey) -> datetime | None:
    """When the invite's next reminder is due, or None when none is.

    The n-th reminder (n = reminders sent so far) comes reminder_days[n] days
    after the invite was sent; after the listed days, weekly when the survey
    says so; never more than reminder_limit in all. None for test invites,
    unsent or unsubscribed ones, once the response is completed, and when the
    date would fall at or after the campaign's survey lock date."""
    if invite.is_test or invite.sent_at is None or invite.unsubscribed_at is not None:
        return None
    response = _response_of(invite)
    if response is not None and response.completed_at is not None:
        return None
    if invite.reminders_sent >= survey.reminder_limit:
        return None
    offset = _reminder_offset_days(survey, invite.reminders_sent)
    if offset is None:
        return None
    due = invite.sent_at + timedelta(days=offset)
    lock_at = survey.campaign.survey_lock_at
    if lock_at is not None and due >= lock_at:
        return None  # the survey is read-only by then: nothing left to remind of
    return due


def _lock_passed(now: datetime) -> Q:
    return Q(survey__campaign__survey_lock_at__lte=now)


def _due_reminders(now: datetime) -> QuerySet[SurveyInvite]:
    return SurveyInvite.objects.filter(
        next_reminder_at__lte=now,
        survey__status=SurveyStatus.LIVE,
        is_test=False,
        unsubscribed_at__isnull=True,
    ).exclude(_lock_passed(now))


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Email every reminder that is due (for the beat, every 15 minutes); returns how many.

    Live surveys only; test, unsubscribed and completed invites get none (a
    completed one has its date cleared). Due invites are claimed in pk-ordered
    batches with select_for_update(skip_locked=True) and leased an hour ahead,
    so two beats never send the same reminder; each invite is then updated
    right after its email (reminders_sent + 1, last_reminder_at, next date).
    A failed email is retried when the lease runs out. Once a campaign's survey
    lock date has passed, its invites get none and lose their scheduled date."""
    now = now or timezone.now()
    SurveyInvite.objects.filter(_lock_passed(now), next_reminder_at__isnull=False).update(
        next_reminder_at=None
    )
    sent = 0
    after = 0
    with get_connection() as connection:
        while True:
            with transaction.atomic():
                claimed = list(
                    _due_reminders(now)
                    .filter(pk__gt=after)
                    .select_for_update(skip_locked=True, of=("self",))
                    .order_by("pk")
                    .values_list("pk", flat=True)[:REMINDER_BATCH]
                )
                if not claimed:
                    return sent
                SurveyInvite.objects.filter(pk__in=claimed).update(
                    next_reminder_at=now + REMINDER_LEASE
                )
            after = claimed[-1]
            invites = (
                SurveyInvite.objects.filter(pk__in=claimed)
                .select_related("survey__campaign", "backer", "response")
                .order_by("pk")
            )
            for invite in invites:
                sent += _send_reminder(invite=invite, now=now, connection=connection)


def _send_reminder(*, invite: SurveyInvite, now: datetime, connection) -> int:
    survey = invite.survey
    if next_reminder_at(invite=invite, survey=survey) is None:
        # Completed (or unsubscribed) since it was scheduled: no more reminders.
        SurveyInvite.objects.filter(pk=invite.pk).update(next_reminder_at=None)
        return 0
    try:
        _email(kind="reminder", invite=invite, survey=survey, connection=connection).send()
    except MAIL_ERRORS as exc:
        logger.warning("Survey reminder for invite %s not sent: %s", invite.pk, exc)
        return 0
    invite.reminders_sent += 1
    invite.last_reminder_at = timezone.now()
    invite.next_reminder_at = next_reminder_at(invite=invite, survey=survey)
    invite.save(update_fields=["reminders_sent", "last_reminder_at", "next_reminder_at"])
    return 1


# --- smoke test --------------------------------------------------------------


def send_test_invites(*, survey: Survey, sample_backer: Backer | None = None) -> int:
    """Email a test invite to every active team member; returns how many went out.

    Only in smoke test (or draft, to preview). Each invite answers as
    `sample_backer` (default: the campaign's first backer with a pledge), is
    marked test, gets "[TEST]" in the subject, never a reminder, and counts in
    no figure."""
    if survey.status not in (SurveyStatus.SMOKE_TEST, SurveyStatus.DRAFT):
        raise SendingRefused(
            _("Test invites are for a survey in draft or smoke test (it is %(status)s).")
            % {"status": survey.get_status_display().lower()}
        )
    campaign = survey.campaign
    if sample_backer is None:
        sample_backer = (
            Backer.objects.filter(campaign=campaign, pledges__isnull=False).order_by("pk").first()
        )
    if sample_backer is None or sample_backer.campaign_id != campaign.pk:
        raise SendingRefused(_("Import the backers first: a test invite answers as one of them."))
    members = (
        Membership.objects.filter(organization_id=campaign.organization_id, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("pk")
    )
    with transaction.atomic():
        invites = [
            SurveyInvite.objects.create(
                survey=survey, backer=sample_backer, email=member.user.email, is_test=True
            )
            for member in members
        ]
    sent = 0
    with get_connection() as connection:
        for invite in invites:
            invite.survey = survey
            invite.backer = sample_backer
            try:
                _email(
                    kind="invite",
                    invite=invite,
                    survey=survey,
                    connection=connection,
                    subject_prefix="[TEST] ",
                ).send()
            except MAIL_ERRORS as exc:
                invite.send_error = _error_text(exc)
                invite.save(update_fields=["send_error"])
                continue
            invite.sent_at = timezone.now()
            invite.save(update_fields=["sent_at"])
            sent += 1
    return sent


# --- the backer's own actions ------------------------------------------------


def _lost_link_allowed(email_normalized: str) -> bool:
    digest = hashlib.sha256(email_normalized.encode()).hexdigest()
    key = f"surveys:lost-link:{digest}"
    cache.add(key, 0, LOST_LINK_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, LOST_LINK_WINDOW)
        count = 1
    return count <= LOST_LINK_LIMIT


def resend_link(*, survey: Survey, email: str) -> None:
    """Email the magic link again to a backer who lost it ("I lost my link").

    Every non-test invite of a backer of this campaign with this address gets
    its link (an invite never sent counts as sent from now on). At most
    LOST_LINK_LIMIT emails per address and hour; anything over is dropped
    silently. Returns nothing either way: the caller must not learn whether
    the address is a backer's."""
    email_normalized = email.strip().lower()
    if not email_normalized or not _lost_link_allowed(email_normalized):
        return
    invites = list(
        SurveyInvite.objects.filter(
            survey=survey,
            is_test=False,
            backer__campaign_id=survey.campaign_id,
            backer__email_normalized=email_normalized,
        )
        .select_related("backer", "response")
        .order_by("pk")[:LOST_LINK_MAX_INVITES]
    )
    if not invites:
        return
    with get_connection() as connection:
        for invite in invites:
            invite.survey = survey
            try:
                _email(kind="lost_link", invite=invite, survey=survey, connection=connection).send()
            except MAIL_ERRORS as exc:
                logger.warning("Lost-link email for invite %s not sent: %s", invite.pk, exc)
                continue
            if invite.sent_at is None:
                invite.sent_at = timezone.now()
                invite.send_error = ""
                invite.next_reminder_at = next_reminder_at(invite=invite, survey=survey)
                invite.save(update_fields=["sent_at", "send_error", "next_reminder_at"])


def unsubscribe(*, invite: SurveyInvite) -> None:
    """Stop the invite's reminders (the survey can still be answered). Idempotent."""
    now = timezone.now()
    SurveyInvite.objects.filter(pk=invite.pk).update(
        unsubscribed_at=Coalesce("unsubscribed_at", Value(now)), next_reminder_at=None
    )
    invite.unsubscribed_at = invite.unsubscribed_at or now
    invite.next_reminder_at = None


# --- figures -----------------------------------------------------------------


def invite_counts(*, survey: Survey) -> dict:
    """The invites page's figures (test invites excluded), in two queries; also when
    the last invite went out (`last_sent_at`), to tell a running send from a stopped one."""
    figures = SurveyInvite.objects.filter(survey=survey, is_test=False).aggregate(
        invited=Count("pk"),
        sent=Count("pk", filter=Q(sent_at__isnull=False)),
        failed=Count("pk", filter=Q(sent_at__isnull=True) & ~Q(send_error="")),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        completed=Count("pk", filter=Q(response__completed_at__isnull=False)),
        unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
        reminders=Sum("reminders_sent", default=0),
        last_sent_at=Max("sent_at"),
    )
    figures["eligible"] = eligible_backers(survey=survey).count()
    figures["waiting"] = figures["invited"] - figures["sent"] - figures["failed"]
    return figures
