"""The catalog's words in a survey's extra languages: reward titles, choice groups
and options, add-on names and descriptions, regional editions.

They live in Survey.texts[language]["catalog"], keyed "<kind>:<id>"
("reward:12", "option:40", "offer_description:7"); a text missing there shows
the English original. The catalog's own rows are not touched, so the SKU map,
imports and back office keep one English name per thing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch

from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, Reward

from ..errors import SurveysError
from ..models import AddOnOffer, Survey

logger = logging.getLogger(__name__)

# kind → the longest text it takes
MAX_LENGTHS = {
    "reward": 300,
    "group": 300,
    "option": 300,
    "offer": 300,
    "offer_description": 2000,
    "rule": 300,
}
KINDS = tuple(MAX_LENGTHS)


class CatalogTextInvalid(SurveysError):
    """A catalog text that cannot be stored: unknown kind, another campaign's
    id, a language the survey does not offer, or too long. `field` is the key."""

    code = "catalog_text_invalid"


# --- what backers read --------------------------------------------------------------


@dataclass(frozen=True)
class CatalogTexts:
    """One language's catalog words; each method gives the translation of a
    thing or, when there is none, the `default` (its English original)."""

    language: str = "en"
    own: Mapping[str, str] = field(default_factory=dict)

    def _text(self, kind: str, id, default: str) -> str:
        return self.own.get(f"{kind}:{id}") or default

    def reward(self, id, default: str) -> str:
        return self._text("reward", id, default)

    def group(self, id, default: str) -> str:
        return self._text("group", id, default)

    def option(self, id, default: str) -> str:
        return self._text("option", id, default)

    def offer(self, id, default: str) -> str:
        return self._text("offer", id, default)

    def offer_description(self, id, default: str) -> str:
        return self._text("offer_description", id, default)

    def rule(self, id, default: str) -> str:
        return self._text("rule", id, default)


def catalog_texts(*, survey: Survey, language: str) -> CatalogTexts:
    """The catalog's words in `language` as the creator entered them (English:
    none, the originals show). Reads survey.texts only: no query."""
    if language == "en":
        return CatalogTexts()
    own = ((survey.texts or {}).get(language) or {}).get("catalog") or {}
    return CatalogTexts(language=language, own=dict(own))


# --- what the creator translates ----------------------------------------------------


@dataclass(frozen=True)
class TranslatableCatalog:
    """Every catalog text a backer may read, in display order: rewards, choice
    groups (options prefetched, with the reward or add-on they belong to),
    add-on offers and regional rules."""

    rewards: list[Reward]
    groups: list[ChoiceGroup]
    offers: list[AddOnOffer]
    rules: list[RegionalRule]


def translatable_catalog(*, campaign) -> TranslatableCatalog:
    """The campaign's catalog texts to translate, in five queries whatever its size."""
    rewards = list(Reward.objects.filter(campaign=campaign).order_by("minimum", "title", "pk"))
    offers = list(AddOnOffer.objects.filter(campaign=campaign).order_by("position", "name", "pk"))
    by_reward = {reward.pk: reward for reward in rewards}
    by_offer = {offer.pk: offer for offer in offers}
    groups = list(
        ChoiceGroup.objects.filter(campaign=campaign)
        .prefetch_related(Prefetch("options", ChoiceOption.objects.order_by("position", "pk")))
        .order_by("position", "pk")
    )
    for group in groups:
        # Already loaded above: no query per group for "Dice colour of Core box".
        if group.reward_id is not None:
            group.reward = by_reward.get(group.reward_id)
        else:
            group.addon_offer = by_offer.get(group.addon_offer_id)
    # Groups in the order backers meet them: the rewards' first, then the add-ons'.
    reward_order = {pk: index for index, pk in enumerate(by_reward)}
    offer_order = {pk: index for index, pk in enumerate(by_offer)}
    groups.sort(
        key=lambda g: (
            (0, reward_order.get(g.reward_id, 0))
            if g.reward_id is not None
            else (1, offer_order.get(g.addon_offer_id, 0)),
            g.position,
            g.pk,
        )
    )
    rules = list(RegionalRule.objects.filter(campaign=campaign).order_by("position", "pk"))
    return TranslatableCatalog(rewards=rewards, groups=groups, offers=offers, rules=rules)


def _parse_key(key: str) -> tuple[str, int]:
    kind, _sep, raw_id = str(key).partition(":")
    if kind not in MAX_LENGTHS or not raw_id.isdigit():
        raise CatalogTextInvalid(f"“{key}” is not a text of the catalog.", field=str(key))
    return kind, int(raw_id)


def _campaign_ids(campaign_id: int, kind: str, ids: set[int]) -> set[int]:
    """Which of `ids` are the campaign's own things of that kind (one query)."""
    if kind == "reward":
        rows = Reward.objects.filter(campaign_id=campaign_id)
    elif kind == "group":
        rows = ChoiceGroup.objects.filter(campaign_id=campaign_id)
    elif kind == "option":
        rows = ChoiceOption.objects.filter(group__campaign_id=campaign_id)
    elif kind in ("offer", "offer_description"):
        rows = AddOnOffer.objects.filter(campaign_id=campaign_id)
    else:
        rows = RegionalRule.objects.filter(campaign_id=campaign_id)
    return set(rows.filter(pk__in=ids).values_list("pk", flat=True))


def _check_owned(campaign_id: int, keys: list[tuple[str, int, str]]) -> None:
    wanted: dict[str, set[int]] = {}
    for kind, id, _key in keys:
        # An offer's name and description are checked against the same table once.
        wanted.setdefault("offer" if kind == "offer_description" else kind, set()).add(id)
    owned = {kind: _campaign_ids(campaign_id, kind, ids) for kind, ids in wanted.items()}
    for kind, id, key in keys:
        if id not in owned["offer" if kind == "offer_description" else kind]:
            raise CatalogTextInvalid(
                "Only this campaign's rewards, choices, add-ons and regional editions "
                "can be translated.",
                field=key,
            )


def save_catalog_texts(
    *, survey: Survey, language: str, texts: Mapping[str, str], actor
) -> dict[str, str]:
    """Store catalog texts of one extra language; returns that language's texts.

    Keys are "<kind>:<id>" of this campaign's rewards, choice groups, options,
    add-on offers (name, description) and regional rules; another campaign's id
    or an unknown kind is refused, as are English and languages the survey does
    not offer. Texts are stripped; a blank one is removed (the English shows
    again); keys not given are kept. At most 300 characters (a description
    2,000). The language's other texts (its intro) are untouched."""
    if language == "en" or language not in (survey.languages or []):
        raise CatalogTextInvalid(
            f"“{language}” is not an extra language of this survey.", field="language"
        )
    cleaned: dict[str, str] = {}
    keys: list[tuple[str, int, str]] = []
    for key, value in texts.items():
        kind, id = _parse_key(key)
        value = (value or "").strip()
        if len(value) > MAX_LENGTHS[kind]:
            raise CatalogTextInvalid(
                f"Keep it under {MAX_LENGTHS[kind]:,} characters.", field=f"{kind}:{id}"
            )
        cleaned[f"{kind}:{id}"] = value
        keys.append((kind, id, f"{kind}:{id}"))
    _check_owned(survey.campaign_id, keys)
    with transaction.atomic():
        # The row lock keeps a concurrent intro or other-language save from being lost.
        row = Survey.objects.select_for_update().get(pk=survey.pk)
        all_texts = dict(row.texts or {})
        own = dict(all_texts.get(language) or {})
        catalog = dict(own.get("catalog") or {})
        for key, value in cleaned.items():
            if value:
                catalog[key] = value
            else:
                catalog.pop(key, None)
        own["catalog"] = catalog
        all_texts[language] = own
        row.texts = all_texts
        row.save(update_fields=["texts", "updated_at"])
    survey.texts, survey.updated_at = row.texts, row.updated_at
    logger.info(
        "Survey %s: %s catalog texts saved by user %s (%s given)",
        survey.pk,
        language,
        actor.pk,
        len(cleaned),
    )
    return dict(catalog)
