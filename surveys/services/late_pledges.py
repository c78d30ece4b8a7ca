"""Late pledges: the survey's public store sells rewards after the campaign.

Someone who missed the campaign picks a reward on the store, gives name, email
and country, and becomes a backer of their own (source "late pledge") with an
empty pledge on that reward, an invite and a started survey response. The
reward's late price is what their response owes (`reward_due`); they pay it
with the rest of the survey's balance. Stock is counted, never stored: the
late-pledge backers on the reward that hold a unit (bought in the last LATE_HOLD,
or confirmed). Buying locks the LateReward row first, so buyers of the last units
queue there and the store never oversells; a buyer who confirms after the hold ran
out needs a unit left then (check_late_stock, under the same lock).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from djmoney.money import Money

from inventory import bom
from orders.models import Order, OrderKind, OrderState
from pledges.models import Backer, BackerSource, PaymentStatus, Platform, Pledge, Reward

from ..errors import SurveysError
from ..links import magic_link
from ..models import LateReward, Survey, SurveyInvite, SurveyResponse, SurveyStatus
from .invites import next_reminder_at
from .responses import open_invite

logger = logging.getLogger(__name__)

SEND_ERROR_MAX = 300
# One message failing (refused recipient, broken address) is stored, not raised.
MAIL_ERRORS = (OSError, ValueError)


class LatePledgeRefused(SurveysError):
    code = "late_pledge_refused"


class LatePledgesClosed(LatePledgeRefused):
    """The store is closed: late pledges are off, or the survey is not live."""

    code = "late_pledges_closed"


class LateRewardUnavailable(LatePledgeRefused):
    """The reward is not sold on the store (no late offer, or switched off)."""

    code = "late_reward_unavailable"


class LateSoldOut(LatePledgeRefused):
    code = "late_sold_out"


# --- reads -------------------------------------------------------------------


def store_is_open(survey: Survey, *, now: datetime | None = None) -> bool:
    """The store sells while the survey is live, late pledges are on and the
    campaign's lock date has not passed (a buyer could not answer any more)."""
    now = now or timezone.now()
    lock_at = survey.campaign.survey_lock_at
    return (
        survey.status == SurveyStatus.LIVE
        and survey.late_pledges_enabled
        and (lock_at is None or now < lock_at)
    )


def late_rewards_on_sale(*, survey: Survey) -> list[LateReward]:
    """The store's rewards: active late offers of this campaign's rewards, cheapest first."""
    return list(
        LateReward.objects.filter(
            survey=survey, is_active=True, reward__campaign_id=survey.campaign_id
        ).select_related("reward")
    )


def late_reward_on_sale(*, survey: Survey, reward_id: int) -> LateReward | None:
    """The active late offer of one reward of this campaign, or None."""
    return (
        LateReward.objects.filter(
            survey=survey,
            is_active=True,
            reward_id=reward_id,
            reward__campaign_id=survey.campaign_id,
        )
        .select_related("reward")
        .first()
    )


# How long a late pledge holds its unit before the buyer confirms their survey. After
# that an unconfirmed pledge no longer counts against the stock (a visitor who gave a
# name and left, or a script, cannot hold units for good); confirming then needs a unit
# left (`check_late_stock`). A confirmed one holds its unit for good, reopened or not.
LATE_HOLD = timedelta(hours=2)


def _holding(now: datetime) -> Q:
    """Late pledges that hold a unit: recent, or confirmed (a completed survey or an
    order built from one; an edit after confirming reopens the survey but keeps the
    order, and the unit)."""
    confirmed = SurveyResponse.objects.filter(
        backer_id=OuterRef("backer_id"), is_test=False, completed_at__isnull=False
    )
    ordered = Order.objects.filter(
        backer_id=OuterRef("backer_id"), kind=OrderKind.STANDARD
    ).exclude(state=OrderState.CANCELLED)
    return Q(pledged_at__gte=now - LATE_HOLD) | Exists(confirmed) | Exists(ordered)


def _sold(reward_ids, *, now: datetime | None = None, besides: int | None = None) -> dict[int, int]:
    """Units held per reward by late pledges (`besides`: leave that backer out)."""
    pledges = Pledge.objects.filter(
        _holding(now or timezone.now()),
        reward_id__in=reward_ids,
        backer__source=BackerSource.LATE_PLEDGE,
    )
    if besides is not None:
        pledges = pledges.exclude(backer_id=besides)
    return dict(pledges.values("reward_id").annotate(n=Count("pk")).values_list("reward_id", "n"))


def check_late_stock(*, response: SurveyResponse, pledge: Pledge) -> None:
    """Before a late backer confirms: one whose hold ran out (and who never confirmed)
    needs a unit left, counted under the offer's lock like a purchase. Nothing to do
    for a campaign backer, a recent or an already confirmed late pledge, or an offer
    without a stock limit. Raises LateSoldOut."""
    now = timezone.now()
    if pledge.pledged_at is None or pledge.pledged_at >= now - LATE_HOLD:
        return
    if not Backer.objects.filter(pk=pledge.backer_id, source=BackerSource.LATE_PLEDGE).exists():
        return
    if Pledge.objects.filter(_holding(now), pk=pledge.pk).exists():
        return
    late = (
        LateReward.objects.select_for_update()
        .filter(reward_id=pledge.reward_id, survey__campaign_id=response.backer.campaign_id)
        .select_related("reward")
        .first()
    )
    if late is None or late.stock_limit is None:
        return
    sold = _sold([pledge.reward_id], now=now, besides=pledge.backer_id).get(pledge.reward_id, 0)
    if sold >= late.stock_limit:
        raise LateSoldOut(
            _(
                "Sorry: “%(name)s” sold out while your pledge waited to be confirmed. "
                "Nothing was charged."
            )
            % {"name": late.reward.title}
        )


def late_stock_left(*, late_rewards) -> dict[int, int]:
    """Units left of each stock-limited late reward (keyed by LateReward id), in one query.

    What the store shows; create_late_pledge decides under a lock."""
    limited = [lr for lr in late_rewards if lr.stock_limit is not None]
    if not limited:
        return {}
    sold = _sold([lr.reward_id for lr in limited])
    return {lr.pk: max(0, lr.stock_limit - sold.get(lr.reward_id, 0)) for lr in limited}


def reward_contents(*, catalog: bom.Catalog, reward_id: int) -> list[bom.BomLine]:
    """What a late backer of the reward receives: its SKU lines (choices still
    open, stretch goals only where a pledge made today qualifies)."""
    try:
        lines = bom.explode(
            catalog=catalog, reward_id=reward_id, country="", pledged_at=timezone.now()
        )
    except bom.BomError:
        return []
    return [line for line in lines if line.source != "addon_unmapped"]


# --- buying ------------------------------------------------------------------


def create_late_pledge(
    *,
    survey: Survey,
    reward: Reward,
    name: str,
    email: str,
    country: str,
    language: str | None = None,
) -> SurveyInvite:
    """Sell `reward` on the store: a new late-pledge backer with its pledge,
    invite and started survey response; returns the invite.

    Rules: the store is open (store_is_open) and the reward has an active late
    offer in this survey; a stock-limited offer sells at most `stock_limit`
    late pledges. The LateReward row is locked before counting, so concurrent
    buyers of the last units queue instead of overselling. The pledge is
    empty (amount 0, nothing paid on a platform); the response owes the late
    price as `reward_due`. After commit the backer is emailed their magic link."""
    campaign = survey.campaign
    currency = campaign.currency
    now = timezone.now()
    with transaction.atomic():
        if not store_is_open(survey, now=now):
            raise LatePledgesClosed(_("Late pledges are closed."))
        late = (
            LateReward.objects.select_for_update()
            .filter(survey=survey, reward_id=reward.pk, reward__campaign_id=campaign.pk)
            .first()
        )
        if late is None or not late.is_active:
            raise LateRewardUnavailable(
                _("“%(name)s” is not available as a late pledge.") % {"name": reward.title}
            )
        if late.stock_limit is not None:
            sold = _sold([reward.pk]).get(reward.pk, 0)
            if sold >= late.stock_limit:
                raise LateSoldOut(_("“%(name)s” is sold out.") % {"name": reward.title})
        email = email.strip()
        backer = Backer.objects.create(
            campaign=campaign,
            platform=Platform.OTHER,
            platform_backer_id=f"late-{uuid.uuid4().hex}",
            name=name.strip(),
            email=email,
            email_normalized=email.lower(),
            source=BackerSource.LATE_PLEDGE,
        )
        Pledge.objects.create(
            backer=backer,
            reward=reward,
            amount=Money(0, currency),
            shipping_paid=Money(0, currency),
            bonus_support=Money(0, currency),
            pledged_at=now,
            payment_status=PaymentStatus.COLLECTED,
            shipping_name=backer.name,
            shipping_country=country,
        )
        invite = SurveyInvite.objects.create(
            survey=survey, backer=backer, email=email, is_test=False, sent_at=now
        )
        response = open_invite(invite=invite, language=language)
        response.reward_due = Money(late.price.amount, currency)
        response.save(update_fields=["reward_due", "updated_at"])
        # A buyer who leaves half-way is reminded like any invited backer.
        invite.next_reminder_at = next_reminder_at(invite=invite, survey=survey)
        invite.save(update_fields=["next_reminder_at"])
        invite_id = invite.pk
        transaction.on_commit(lambda: send_late_pledge_link(invite_id=invite_id))
    return invite


# --- the email with the magic link -------------------------------------------


def _sender(campaign) -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return formataddr((campaign.sender_name or campaign.name, address))


def _logo_url(campaign) -> str:
    if not campaign.logo:
        return ""
    return urljoin(settings.SITE_URL.rstrip("/") + "/", campaign.logo.url)


def send_late_pledge_link(*, invite_id: int) -> bool:
    """Email a late backer their personal survey link (to come back and finish or pay).

    Branded like the survey's invites, in the response's language. A failing
    email is logged and stored on the invite (send_error), never raised: the
    pledge is made either way. Returns whether it went out."""
    invite = (
        SurveyInvite.objects.select_related("survey__campaign", "backer", "response")
        .filter(pk=invite_id)
        .first()
    )
    if invite is None:
        return False
    survey = invite.survey
    campaign = survey.campaign
    response = invite.response
    pledge = Pledge.objects.select_related("reward").filter(backer_id=invite.backer_id).first()
    context = {
        "campaign": campaign,
        "survey": survey,
        "invite": invite,
        "backer": invite.backer,
        "reward": pledge.reward if pledge else None,
        "reward_due": response.reward_due,
        "link": magic_link(invite),
        "logo_url": _logo_url(campaign),
        "language": response.language,
        "lock_at": campaign.survey_lock_at,
        "link_days": survey.link_max_age_days,
    }
    with translation.override(response.language):
        subject = render_to_string("surveys/store/email_subject.txt", context)
        text = render_to_string("surveys/store/email_body.txt", context)
        html = render_to_string("surveys/store/email_body.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=_sender(campaign),
        to=[invite.email],
        reply_to=[campaign.sender_email] if campaign.sender_email else None,
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except MAIL_ERRORS as exc:
        logger.warning("Late-pledge link for invite %s not sent: %s", invite.pk, exc)
        error = f"{type(exc).__name__}: {exc}"[:SEND_ERROR_MAX]
        SurveyInvite.objects.filter(pk=invite.pk).update(send_error=error)
        return False
    return True
