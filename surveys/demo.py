"""The demo campaign's survey: live in English and German, two custom
questions, late pledges open, invites sent to the backers and a realistic
spread of answers (opened, started, completed, some add-ons bought), plus a
test link for the owner to walk the survey as a backer. Deterministic and
safe to run again: an existing survey is left as it is."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from inventory import bom
from pledges.models import Backer, PaymentStatus, Pledge

from . import address as addresses
from .errors import SurveysError
from .links import invite_token
from .models import AddOnOffer, LateReward, Question, Survey, SurveyInvite, SurveyStatus
from .services import responses as services

GERMAN_INTRO = (
    "Danke, dass du Skyforge unterstützt hast! Bestätige deine Belohnung, wähle deine "
    "Add-ons und sag uns, wohin wir liefern sollen."
)


def _questions(survey: Survey) -> None:
    Question.objects.create(
        survey=survey,
        kind="short_text",
        label="Name to print in the backer credits",
        help_text="Leave empty to stay anonymous.",
        translations={
            "de": {
                "label": "Name für die Unterstützerliste",
                "help_text": "Leer lassen, um anonym zu bleiben.",
            }
        },
        position=1,
    )
    Question.objects.create(
        survey=survey,
        kind="single_choice",
        label="Rulebook language",
        options=["English", "German", "French"],
        required=True,
        translations={
            "de": {
                "label": "Sprache der Spielregeln",
                "options": ["Englisch", "Deutsch", "Französisch"],
            }
        },
        position=2,
    )


def _late_rewards(survey: Survey) -> None:
    for reward in survey.campaign.rewards.all()[:3]:
        LateReward.objects.create(
            survey=survey,
            reward=reward,
            price=Money(reward.minimum.amount + 10, survey.campaign.currency),
            stock_limit=50,
        )


def _answer(response, survey, pledge, catalog, rng: random.Random, *, complete: bool) -> None:
    """Walk one backer through the survey with the services, as the pages would."""
    services.confirm_reward(response=response, survey=survey)
    groups = catalog.groups_for_reward(pledge.reward_id) if pledge.reward_id else []
    choices = {g.id: [rng.choice(g.options).id] for g in groups if g.options}
    bought = False
    if rng.random() < 0.3:
        offers = [
            o
            for o in AddOnOffer.objects.filter(campaign=survey.campaign, is_active=True)
            if not o.tiers.exists()
        ]
        if offers:
            offer = rng.choice(offers)
            with contextlib.suppress(SurveysError):  # sold out: the backer buys nothing
                services.update_cart(response=response, survey=survey, quantities={offer.pk: 1})
                bought = True
            for g in catalog.groups_for_offer(offer.pk):
                choices[g.id] = [rng.choice(g.options).id]
    if not bought:  # the backer looked at the store and bought nothing
        services.update_cart(response=response, survey=survey, quantities={})
    try:
        services.save_choices(
            response=response, survey=survey, choices=choices, pledge=pledge, catalog=catalog
        )
    except SurveysError:
        return
    if not complete:
        return
    language = ["English", "German", "French"][rng.randrange(3)]
    questions = {q.label: q for q in survey.questions.all()}
    services.save_answers(
        response=response,
        survey=survey,
        answers={
            str(questions["Name to print in the backer credits"].pk): pledge.backer.name,
            str(questions["Rulebook language"].pk): language,
        },
    )
    street = "\n".join(p for p in (pledge.shipping_address_1, pledge.shipping_address_2) if p)
    address = {
        "name": pledge.shipping_name or pledge.backer.name,
        "street_address": street,
        "city": pledge.shipping_city,
        "country_area": pledge.shipping_region,
        "postal_code": pledge.shipping_postal_code,
        "country_code": str(pledge.shipping_country or ""),
        "phone": "",
    }
    try:
        address = addresses.normalize_address(address)
    except addresses.AddressInvalid as exc:
        if set(exc.errors) != {"postal_code"}:
            return  # the demo keeps some broken addresses: this backer stops here
        # Fake data mixes postal codes and states; a real backer would fix it on the page.
        rules = addresses.country_rules(address["country_code"], address["country_area"])
        address["postal_code"] = rules.postal_code_examples[0]
        try:
            address = addresses.normalize_address(address)
        except addresses.AddressInvalid:
            return
    services.save_address(response=response, survey=survey, address=address)
    steps = services.steps_for(response=response, survey=survey, pledge=pledge, catalog=catalog)
    with contextlib.suppress(SurveysError):  # e.g. a choice the map no longer has
        services.complete_survey(
            response=response, survey=survey, steps=steps, pledge=pledge, catalog=catalog
        )


def seed_survey_demo(*, campaign, owner_backer_email: str | None = None, seed: int = 2026):
    """The demo survey (made once) and a fresh test link for the owner. Returns the link path."""
    rng = random.Random(seed)
    survey = Survey.objects.filter(campaign=campaign).first()
    if survey is None:
        with transaction.atomic():
            survey = Survey.objects.create(
                campaign=campaign,
                status=SurveyStatus.LIVE,
                languages=["en", "de"],
                texts={"de": {"intro": GERMAN_INTRO}},
                late_pledges_enabled=True,
                opened_at=timezone.now() - timedelta(days=10),
            )
            _questions(survey)
            _late_rewards(survey)
            backers = list(
                Backer.objects.filter(
                    campaign=campaign,
                    merged_into__isnull=True,
                    pledges__payment_status=PaymentStatus.COLLECTED,
                )
                .exclude(email="")
                .order_by("pk")
            )
            sent = survey.opened_at
            SurveyInvite.objects.bulk_create(
                SurveyInvite(
                    survey=survey,
                    backer=b,
                    email=b.email,
                    sent_at=sent,
                    next_reminder_at=sent + timedelta(days=3),
                )
                for b in backers
            )
        with transaction.atomic():  # one commit: the demo seeds in seconds, also on SQLite
            catalog = bom.load_catalog(campaign=campaign.pk)
            pledges = {
                p.backer_id: p
                for p in Pledge.objects.filter(backer__campaign=campaign).select_related(
                    "reward", "backer"
                )
            }
            for invite in SurveyInvite.objects.filter(survey=survey).order_by("pk"):
                roll = rng.random()
                if roll > 0.8:
                    continue  # never opened
                response = services.open_invite(
                    invite=invite, language=rng.choice(["en", "en", "de"])
                )
                if roll > 0.7:
                    continue  # opened, nothing answered
                _answer(
                    response, survey, pledges[invite.backer_id], catalog, rng, complete=roll <= 0.55
                )
    backer = Backer.objects.filter(campaign=campaign, pledges__reward__isnull=False).order_by("pk")
    if owner_backer_email is None:
        return None
    test_invite, _created = SurveyInvite.objects.get_or_create(
        survey=survey, backer=backer.first(), email=owner_backer_email, is_test=True
    )
    return test_invite, invite_token(test_invite)
