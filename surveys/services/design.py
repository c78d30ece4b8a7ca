"""Designing a campaign's survey: its settings and status, its custom questions,
the late-pledge prices of its rewards, and the team's preview as a backer.

The status moves only along TRANSITIONS; going live needs a locked SKU map,
because backers choose and buy against the map and it must not move under them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from djmoney.money import Money

from inventory import bom
from pledges.models import Backer, Campaign, Reward

from ..errors import SurveysError
from ..middleware import forget_host_names
from ..models import (
    CHOICE_KINDS,
    LateReward,
    PhonePolicy,
    Question,
    QuestionKind,
    Survey,
    SurveyInvite,
    SurveyStatus,
)

logger = logging.getLogger(__name__)


# --- errors ------------------------------------------------------------------


class StatusChangeRefused(SurveysError):
    """A status change the transition table does not allow."""

    code = "survey_status_refused"


class SkuMapNotLocked(StatusChangeRefused):
    """Going live before the SKU map is locked."""

    code = "sku_map_not_locked"


class SurveySettingsInvalid(SurveysError):
    code = "survey_settings_invalid"


class HostNameTaken(SurveySettingsInvalid):
    code = "host_name_taken"


class QuestionInvalid(SurveysError):
    code = "question_invalid"


class LateRewardInvalid(SurveysError):
    code = "late_reward_invalid"


class PreviewRefused(SurveysError):
    code = "preview_refused"


# --- status --------------------------------------------------------------------

# Draft → smoke test (team only) → live → closed; a smoke test can go back to
# draft, and a closed survey can reopen.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    SurveyStatus.DRAFT: (SurveyStatus.SMOKE_TEST,),
    SurveyStatus.SMOKE_TEST: (SurveyStatus.DRAFT, SurveyStatus.LIVE),
    SurveyStatus.LIVE: (SurveyStatus.CLOSED,),
    SurveyStatus.CLOSED: (SurveyStatus.LIVE,),
}


def allowed_statuses(survey: Survey) -> tuple[str, ...]:
    return TRANSITIONS.get(survey.status, ())


def change_status(*, survey: Survey, status: str, actor) -> Survey:
    """Move the survey to `status`.

    Only moves in TRANSITIONS are allowed. Going live is refused while the
    campaign's SKU map is open; the campaign row is locked first (the lock and
    unlock of the map take the same lock), so an unlock cannot slip in between.
    The first time the survey goes live, `opened_at` is set."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=survey.campaign_id)
        row = Survey.objects.select_for_update().get(pk=survey.pk)
        if status not in TRANSITIONS.get(row.status, ()):
            current = SurveyStatus(row.status).label
            wanted = SurveyStatus(status).label if status in SurveyStatus.values else status
            raise StatusChangeRefused(f"A survey cannot go from “{current}” to “{wanted}”.")
        if status == SurveyStatus.LIVE and campaign.sku_map_locked_at is None:
            raise SkuMapNotLocked(
                "The survey cannot go live while the SKU map is open: check and lock it first, "
                "so backers choose against a settled catalog."
            )
        previous = row.status
        row.status = status
        if status == SurveyStatus.LIVE and row.opened_at is None:
            row.opened_at = timezone.now()
        row.save(update_fields=["status", "opened_at", "updated_at"])
    logger.info("Survey %s: %s → %s by user %s", row.pk, previous, status, actor.pk)
    survey.status, survey.opened_at, survey.updated_at = row.status, row.opened_at, row.updated_at
    return survey


# --- settings ------------------------------------------------------------------

MAX_LINK_DAYS = 3650
MAX_REMINDER_DAY = 365
MAX_REMINDER_DAYS = 12
MAX_REMINDER_LIMIT = 50
MAX_SEND_PER_MINUTE = 100_000
MAX_INTRO = 10_000

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def parse_reminder_days(text: str) -> list[int]:
    """ "3, 7, 14" → [3, 7, 14]: positive whole days after the invite, ascending.
    Blank means no reminder on fixed days."""
    parts = [part.strip() for part in (text or "").split(",")]
    if parts == [""]:
        return []
    days = []
    for part in parts:
        if not (part.isascii() and part.isdigit()):
            raise SurveySettingsInvalid(
                f"“{part}” is not a number of days: write whole days separated by commas, "
                "like 3, 7, 14.",
                field="reminder_days",
            )
        days.append(int(part))
    check_reminder_days(days)
    return days


def check_reminder_days(days: Sequence[int]) -> None:
    if len(days) > MAX_REMINDER_DAYS:
        raise SurveySettingsInvalid(
            f"At most {MAX_REMINDER_DAYS} reminder days; weekly reminders can follow them.",
            field="reminder_days",
        )
    for day in days:
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= MAX_REMINDER_DAY:
            raise SurveySettingsInvalid(
                f"Reminder days are whole days from 1 to {MAX_REMINDER_DAY} after the invite.",
                field="reminder_days",
            )
    if any(later <= earlier for earlier, later in zip(days, days[1:], strict=False)):
        raise SurveySettingsInvalid(
            "List the reminder days in ascending order, each once (like 3, 7, 14).",
            field="reminder_days",
        )


def _own_host() -> str:
    return (urlsplit(settings.SITE_URL).hostname or "").lower()


def normalize_host_name(value: str) -> str:
    """A host name as stored: lower case, no trailing dot, international names in
    their ASCII (punycode) form. Blank stays blank (the survey lives at /s/<slug>/)."""
    host = (value or "").strip().lower().rstrip(".")
    if not host:
        return ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise SurveySettingsInvalid(
                "That is not a valid host name.", field="host_name"
            ) from exc
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise SurveySettingsInvalid(
            "Give a host name like pledge.example.com: letters, digits and hyphens, "
            "with dots between the parts (no https://, no path, no IP address).",
            field="host_name",
        )
    if host == _own_host():
        raise SurveySettingsInvalid(
            "That is Pledgeport's own address; give the campaign's own host name.",
            field="host_name",
        )
    return host


def _check_languages(languages: Iterable[str]) -> list[str]:
    known = [code for code, _name in settings.LANGUAGES]
    wanted = set(languages)
    unknown = wanted - set(known)
    if unknown:
        raise SurveySettingsInvalid(
            f"Unknown language: {', '.join(sorted(unknown))}.", field="languages"
        )
    # English is always offered (the fallback of every text); order as in settings.
    return [code for code in known if code == "en" or code in wanted]


def _whole(value, *, field: str, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SurveySettingsInvalid(
            f"{what} must be a whole number from {low} to {high}.", field=field
        )
    return value


def _checked_fields(survey: Survey, fields: Mapping) -> dict:
    checked = {}
    for name, value in fields.items():
        if name == "host_name":
            host = normalize_host_name(value)
            if host and Survey.objects.filter(host_name=host).exclude(pk=survey.pk).exists():
                raise HostNameTaken(
                    "Another campaign's survey already uses this host name.", field="host_name"
                )
            checked[name] = host
        elif name == "languages":
            checked[name] = _check_languages(value)
        elif name == "intros":
            checked[name] = {}
            for code, text in value.items():
                if code == "en" or code not in dict(settings.LANGUAGES):
                    raise SurveySettingsInvalid(
                        "Intro texts are for the extra languages; the English intro is the "
                        "campaign's.",
                        field="languages",
                    )
                if len(text or "") > MAX_INTRO:
                    raise SurveySettingsInvalid(
                        f"Keep the intro under {MAX_INTRO} characters.", field=f"intro_{code}"
                    )
                checked[name][code] = (text or "").strip()
        elif name == "link_max_age_days":
            checked[name] = _whole(
                value, field=name, low=1, high=MAX_LINK_DAYS, what="The link lifetime in days"
            )
        elif name == "reminder_days":
            days = list(value)
            check_reminder_days(days)
            checked[name] = days
        elif name == "reminder_limit":
            checked[name] = _whole(
                value, field=name, low=0, high=MAX_REMINDER_LIMIT, what="The reminder limit"
            )
        elif name == "send_per_minute":
            checked[name] = _whole(
                value, field=name, low=1, high=MAX_SEND_PER_MINUTE, what="Emails per minute"
            )
        elif name == "phone_policy":
            if value not in PhonePolicy.values:
                raise SurveySettingsInvalid("Choose a phone policy.", field=name)
            checked[name] = value
        elif name in (
            "reminder_weekly",
            "include_dropped",
            "bonus_support_is_credit",
            "late_pledges_enabled",
        ):
            checked[name] = bool(value)
        else:
            raise TypeError(f"update_survey() got an unexpected field {name!r}")
    return checked


def update_survey(*, survey: Survey, actor, **fields) -> Survey:
    """Change the survey's settings (any of: host_name, languages, intros — extra
    language → intro text —, link_max_age_days, reminder_days, reminder_weekly,
    reminder_limit, send_per_minute, phone_policy, include_dropped,
    bonus_support_is_credit, late_pledges_enabled).

    Host names are checked for syntax and taken by one survey only (the database
    constraint settles a race); when it changes, the host table the middleware
    caches is forgotten after commit. English is always among the languages.
    The status changes only through change_status()."""
    checked = _checked_fields(survey, fields)
    intros = checked.pop("intros", None)
    host_changed = "host_name" in checked and checked["host_name"] != survey.host_name
    with transaction.atomic():
        row = Survey.objects.select_for_update().get(pk=survey.pk)
        for name, value in checked.items():
            setattr(row, name, value)
        if intros is not None:
            texts = dict(row.texts or {})
            for code, text in intros.items():
                texts[code] = {**texts.get(code, {}), "intro": text}
            row.texts = texts
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError as exc:
            # Another survey took the host name between our check and the save.
            raise HostNameTaken(
                "Another campaign's survey already uses this host name.", field="host_name"
            ) from exc
        if host_changed:
            transaction.on_commit(forget_host_names)
    logger.info("Survey %s settings changed by user %s: %s", row.pk, actor.pk, sorted(fields))
    for name in [*checked, "texts", "updated_at"]:
        setattr(survey, name, getattr(row, name))
    return survey


# --- questions -----------------------------------------------------------------

MAX_OPTIONS = 50
MAX_OPTION = 200


@dataclass(frozen=True)
class QuestionText:
    """A question's words in one extra language (blank: the English shows)."""

    label: str = ""
    help_text: str = ""
    options: tuple[str, ...] = ()


def _clean_options(options: Iterable[str]) -> list[str]:
    return [option.strip() for option in options if option and option.strip()]


def _check_question(
    *,
    survey: Survey,
    kind: str,
    label: str,
    help_text: str,
    options: Iterable[str],
    tiers: Iterable[Reward],
    translations: Mapping[str, QuestionText] | None,
) -> tuple[str, str, list[str], list[Reward], dict]:
    if kind not in QuestionKind.values:
        raise QuestionInvalid("Choose what kind of answer the question takes.", field="kind")
    label = (label or "").strip()
    if not label:
        raise QuestionInvalid("Write the question backers will read.", field="label")
    if len(label) > 300:
        raise QuestionInvalid("Keep the question under 300 characters.", field="label")
    help_text = (help_text or "").strip()
    if len(help_text) > 500:
        raise QuestionInvalid("Keep the help text under 500 characters.", field="help_text")
    options = _clean_options(options)
    if kind in CHOICE_KINDS:
        if len(options) < 2:
            raise QuestionInvalid(
                "A choice needs at least two options, one per line.", field="options"
            )
        if len(options) > MAX_OPTIONS:
            raise QuestionInvalid(f"At most {MAX_OPTIONS} options.", field="options")
        if any(len(option) > MAX_OPTION for option in options):
            raise QuestionInvalid(
                f"Keep each option under {MAX_OPTION} characters.", field="options"
            )
        if len({option.casefold() for option in options}) != len(options):
            raise QuestionInvalid("Each option may appear only once.", field="options")
    elif options:
        raise QuestionInvalid(
            "Only single and multiple choice questions have options; leave them empty.",
            field="options",
        )
    tiers = list(tiers)
    if any(tier.campaign_id != survey.campaign_id for tier in tiers):
        raise QuestionInvalid("Only this campaign's reward tiers can be chosen.", field="tiers")
    stored = {}
    for code, text in (translations or {}).items():
        if code == "en" or code not in survey.languages:
            raise QuestionInvalid(
                f"“{code}” is not an extra language of this survey.", field="translations"
            )
        own_options = _clean_options(text.options)
        if own_options and kind not in CHOICE_KINDS:
            raise QuestionInvalid(
                "Only choice questions have options to translate.", field=f"options_{code}"
            )
        if own_options and len(own_options) != len(options):
            raise QuestionInvalid(
                f"Translate every option, one per line in the same order ({len(options)} "
                f"lines), or leave them all empty to show the English.",
                field=f"options_{code}",
            )
        entry = {
            "label": (text.label or "").strip()[:300],
            "help_text": (text.help_text or "").strip()[:500],
            "options": own_options,
        }
        if any(entry.values()):
            stored[code] = entry
    return label, help_text, options, tiers, stored


def create_question(
    *,
    survey: Survey,
    actor,
    kind: str,
    label: str,
    help_text: str = "",
    options: Iterable[str] = (),
    required: bool = False,
    tiers: Iterable[Reward] = (),
    translations: Mapping[str, QuestionText] | None = None,
) -> Question:
    """Add a question at the end of the survey.

    Choice kinds need at least two distinct options, other kinds none; tiers are
    the campaign's own (none: every tier is asked); translations are for the
    survey's extra languages, with every option or none translated."""
    label, help_text, options, tiers, stored = _check_question(
        survey=survey,
        kind=kind,
        label=label,
        help_text=help_text,
        options=options,
        tiers=tiers,
        translations=translations,
    )
    with transaction.atomic():
        # The survey row's lock serialises appends, so two never share a position.
        Survey.objects.select_for_update().filter(pk=survey.pk).first()
        last = survey.questions.aggregate(last=Max("position"))["last"]
        question = Question.objects.create(
            survey=survey,
            kind=kind,
            label=label,
            help_text=help_text,
            options=options,
            required=required,
            translations=stored,
            position=0 if last is None else last + 1,
        )
        question.tiers.set(tiers)
        bom.catalog_changed(campaign=survey.campaign_id)  # the pages cache the questions
    logger.info("Survey %s: question %s added by user %s", survey.pk, question.pk, actor.pk)
    return question


def update_question(
    *,
    question: Question,
    actor,
    kind: str,
    label: str,
    help_text: str = "",
    options: Iterable[str] = (),
    required: bool = False,
    tiers: Iterable[Reward] = (),
    translations: Mapping[str, QuestionText] | None = None,
) -> Question:
    """Change a question, with the rules of create_question(). Translations of
    languages the survey no longer offers are kept (they show again if it does)."""
    survey = question.survey
    label, help_text, options, tiers, stored = _check_question(
        survey=survey,
        kind=kind,
        label=label,
        help_text=help_text,
        options=options,
        tiers=tiers,
        translations=translations,
    )
    kept = {
        code: text
        for code, text in (question.translations or {}).items()
        if code not in survey.languages
    }
    with transaction.atomic():
        question.kind = kind
        question.label = label
        question.help_text = help_text
        question.options = options
        question.required = required
        question.translations = {**kept, **stored}
        question.save()
        question.tiers.set(tiers)
        bom.catalog_changed(campaign=survey.campaign_id)
    logger.info("Survey %s: question %s changed by user %s", survey.pk, question.pk, actor.pk)
    return question


def _renumber(survey: Survey, ordered: Sequence[Question]) -> None:
    changed = []
    for position, question in enumerate(ordered):
        if question.position != position:
            question.position = position
            changed.append(question)
    Question.objects.bulk_update(changed, ["position"])


def _locked_questions(survey: Survey) -> list[Question]:
    """The survey's questions, row-locked in pk order (no deadlock between two
    moves), then in their display order."""
    rows = list(Question.objects.select_for_update().filter(survey=survey).order_by("pk"))
    return sorted(rows, key=lambda q: (q.position, q.pk))


def delete_question(*, question: Question, actor) -> None:
    """Remove a question; the ones after it move up. Answers already given stay in
    the responses (keyed by the question's id) but are no longer shown."""
    survey = question.survey
    with transaction.atomic():
        remaining = [q for q in _locked_questions(survey) if q.pk != question.pk]
        question.delete()
        _renumber(survey, remaining)
        bom.catalog_changed(campaign=survey.campaign_id)
    logger.info("Survey %s: question deleted by user %s", survey.pk, actor.pk)


def move_question(*, question: Question, direction: str, actor) -> Question:
    """Swap a question with the one above ("up") or below ("down"); at either end
    nothing moves."""
    if direction not in ("up", "down"):
        raise QuestionInvalid("Move a question up or down.", field="direction")
    survey = question.survey
    with transaction.atomic():
        ordered = _locked_questions(survey)
        index = next((i for i, q in enumerate(ordered) if q.pk == question.pk), None)
        if index is None:  # deleted meanwhile by another request
            return question
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        _renumber(survey, ordered)
        bom.catalog_changed(campaign=survey.campaign_id)
        question.position = next(q.position for q in ordered if q.pk == question.pk)
    logger.info("Survey %s: question %s moved %s", survey.pk, question.pk, direction)
    return question


# --- late pledges --------------------------------------------------------------


@dataclass(frozen=True)
class LateRewardRow:
    """One reward's late-pledge terms as the form gives them; price None: not
    offered (allowed only for a reward never offered late)."""

    reward: Reward
    price: Money | None
    stock_limit: int | None = None
    shipping_included: bool = False
    is_active: bool = True


@dataclass(frozen=True)
class LateRewardResult:
    created: int
    updated: int


MAX_STOCK = 10_000_000


def save_late_rewards(*, survey: Survey, actor, rows: Iterable[LateRewardRow]) -> LateRewardResult:
    """Save the late-pledge price, stock limit, shipping and activity of rewards.

    Prices are in the campaign's currency and not negative; a reward offered late
    once keeps its row (untick active to stop selling it), since backers may have
    bought it at that price. Rewards of other campaigns are refused."""
    campaign = survey.campaign
    rows = list(rows)
    for row in rows:
        field = f"reward-{row.reward.pk}"
        if row.reward.campaign_id != campaign.pk:
            raise LateRewardInvalid("Only this campaign's rewards can be sold late.", field=field)
        if row.price is not None:
            if str(row.price.currency) != campaign.currency:
                raise LateRewardInvalid(
                    f"Prices are in the campaign's currency ({campaign.currency}).", field=field
                )
            if row.price.amount < 0:
                raise LateRewardInvalid("A price cannot be negative.", field=field)
        if row.stock_limit is not None and not 1 <= row.stock_limit <= MAX_STOCK:
            raise LateRewardInvalid(
                "Leave the stock limit blank for unlimited, or give at least 1.", field=field
            )
    created = updated = 0
    with transaction.atomic():
        existing = {
            offer.reward_id: offer
            for offer in LateReward.objects.select_for_update().filter(survey=survey).order_by("pk")
        }
        for row in rows:
            offer = existing.get(row.reward.pk)
            if row.price is None:
                if offer is not None:
                    raise LateRewardInvalid(
                        f"“{row.reward.title}” was offered late: keep a price, and untick "
                        "“active” to stop selling it.",
                        field=f"reward-{row.reward.pk}",
                    )
                continue
            terms = {
                "price": row.price,
                "stock_limit": row.stock_limit,
                "shipping_included": row.shipping_included,
                "is_active": row.is_active,
            }
            if offer is None:
                LateReward.objects.create(survey=survey, reward=row.reward, **terms)
                created += 1
            elif any(getattr(offer, name) != value for name, value in terms.items()):
                for name, value in terms.items():
                    setattr(offer, name, value)
                offer.save()
                updated += 1
    logger.info(
        "Survey %s: late rewards saved by user %s (%s new, %s changed)",
        survey.pk,
        actor.pk,
        created,
        updated,
    )
    return LateRewardResult(created=created, updated=updated)


# --- preview -------------------------------------------------------------------


def start_preview(*, survey: Survey, backer: Backer, actor) -> SurveyInvite:
    """A test invite that lets a team member answer the survey as `backer`.

    The invite goes to the team member's own address and is marked test, so the
    response and cart it leads to count nowhere (stats, stock, orders)."""
    if backer.campaign_id != survey.campaign_id:
        raise PreviewRefused("Only this campaign's backers can be previewed.")
    invite = SurveyInvite.objects.create(
        survey=survey, backer=backer, email=actor.email, is_test=True
    )
    logger.info("Survey %s: preview as backer %s by user %s", survey.pk, backer.pk, actor.pk)
    return invite
