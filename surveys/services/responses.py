"""A backer's way through the survey: open the link, confirm the reward, make
choices, fill the cart, answer questions, give the address, review.

Every step saves on its own, so a backer can leave and come back. Nothing is
changed once the order is locked (or the survey closed). The cart is the one
place two backers race: buying the last units of an offer locks the offer's
row first, so stock is checked and taken in one step and never oversold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from djmoney.money import Money

from inventory import bom
from pledges.models import Backer, Pledge

from ..errors import CartInvalid, ChoiceInvalid, OutOfStock, SurveyIncomplete, SurveyLocked
from ..models import (
    AddOnOffer,
    CartLine,
    Question,
    Survey,
    SurveyInvite,
    SurveyResponse,
    SurveyStatus,
    SurveyStep,
)
from ..pricing import Quote, quote


def survey_for(campaign) -> Survey:
    """The campaign's survey row, made on first use (a draft)."""
    survey, _created = Survey.objects.get_or_create(campaign=campaign)
    return survey


def pledge_of(response: SurveyResponse) -> Pledge:
    return Pledge.objects.select_related("reward").get(backer_id=response.backer_id)


def paid_for_order(response: SurveyResponse) -> Decimal:
    """What the backer has paid for the response's order so far (refunded or not, as
    the order's balance counts it); nothing before it has an order."""
    from orders.models import Order
    from orders.services.building import settled

    if response.pk is None:
        return Decimal(0)
    order = Order.objects.filter(response=response).first()
    return settled(order) if order is not None else Decimal(0)


def _order_follows(response: SurveyResponse, *, reopened: bool = False) -> None:
    """A completed response's order is (re)built from it once this change commits
    (a Celery task: the backer's page does not wait for it). `reopened`: the change
    took a completed response back to review, so its order goes back to draft until
    the backer confirms again (it must not ship what the backer is changing)."""
    if response.is_test or (response.completed_at is None and not reopened):
        return
    from orders.tasks import build_order_for_response

    response_id = response.pk
    transaction.on_commit(lambda: build_order_for_response.delay(response_id))


# --- what every backer of a survey sees alike, kept per process ----------------


@dataclass(frozen=True)
class SurveyContent:
    """The survey's catalog, active add-on offers and questions, read once per
    process and catalog version (inventory.bom.cached) and shared between
    requests: read it, never change it. Stock is not here: it changes with
    every sale and is read fresh (stock_left)."""

    catalog: bom.Catalog
    offers: tuple[AddOnOffer, ...]  # active, in the store's order
    offer_tiers: Mapping[int, frozenset[int]]  # empty: every tier
    questions: tuple[Question, ...]
    question_tiers: Mapping[int, frozenset[int]]

    def offers_on_sale(self, *, reward_id: int | None, now=None) -> list[AddOnOffer]:
        """Offers this backer may buy now (see offers_on_sale)."""
        now = now or timezone.now()
        return [
            offer
            for offer in self.offers
            if not (offer.opens_at and now < offer.opens_at)
            and not (offer.closes_at and now >= offer.closes_at)
            and (not self.offer_tiers[offer.pk] or reward_id in self.offer_tiers[offer.pk])
        ]

    def questions_for(self, *, reward_id: int | None) -> list[Question]:
        return [
            q
            for q in self.questions
            if not self.question_tiers[q.pk] or reward_id in self.question_tiers[q.pk]
        ]


def _load_content(survey: Survey) -> SurveyContent:
    offers = list(
        AddOnOffer.objects.filter(campaign_id=survey.campaign_id, is_active=True).prefetch_related(
            "tiers"
        )
    )
    questions = list(Question.objects.filter(survey_id=survey.pk).prefetch_related("tiers"))
    return SurveyContent(
        catalog=bom.survey_catalog(survey=survey),
        offers=tuple(offers),
        offer_tiers={o.pk: frozenset(t.pk for t in o.tiers.all()) for o in offers},
        questions=tuple(questions),
        question_tiers={q.pk: frozenset(t.pk for t in q.tiers.all()) for q in questions},
    )


def survey_content(*, survey: Survey) -> SurveyContent:
    """The survey's SurveyContent: no query while its catalog version stands."""
    return bom.cached(("content", survey.pk, survey.catalog_version), lambda: _load_content(survey))


def is_locked(response: SurveyResponse, *, survey: Survey) -> bool:
    """Read-only: the order is locked (`locked_at`, set by the lock and cleared when
    staff unlock the order) or the survey closed. The campaign's lock date is when the
    lock job locks the ready orders, not a lock of its own: an order still on hold
    after it stays open, so its backer can fix what holds it (the "fix your address"
    email links here), and one unlocked by staff opens again."""
    return bool(response.locked_at or survey.status == SurveyStatus.CLOSED)


def open_invite(*, invite: SurveyInvite, language: str | None = None) -> SurveyResponse:
    """The backer followed their link: mark it opened and start (or resume) the response."""
    now = timezone.now()
    with transaction.atomic():
        if invite.opened_at is None:
            SurveyInvite.objects.filter(pk=invite.pk, opened_at__isnull=True).update(opened_at=now)
            invite.opened_at = now
        response, _created = SurveyResponse.objects.get_or_create(
            invite=invite,
            defaults={
                "backer_id": invite.backer_id,
                "is_test": invite.is_test,
                "language": language or "en",
                "credit": Money(0, invite.survey.campaign.currency),
            },
        )
    return response


def _editable(response: SurveyResponse, survey: Survey) -> None:
    if is_locked(response, survey=survey):
        raise SurveyLocked(_("Your order is locked: it can no longer be changed."))


def _mark_done(response: SurveyResponse, step: str) -> None:
    if step not in response.steps_done:
        response.steps_done = [*response.steps_done, step]


def confirm_reward(*, response: SurveyResponse, survey: Survey) -> None:
    """The backer confirms the reward the platform recorded."""
    _editable(response, survey)
    response.reward_confirmed_at = response.reward_confirmed_at or timezone.now()
    _mark_done(response, SurveyStep.REWARD)
    response.save(update_fields=["reward_confirmed_at", "steps_done", "updated_at"])


def _cart_pairs(response: SurveyResponse) -> list[tuple[int, int]]:
    # response.cart.all() uses the cart the page prefetched (no query then).
    return [(line.offer_id, line.quantity) for line in response.cart.all()]


def bom_of(
    *, response: SurveyResponse, pledge: Pledge, catalog: bom.Catalog, choices=None, cart=None
) -> list[bom.BomLine]:
    """The lines this response ships, with its choices, cart and destination."""
    country = response.address_country or str(pledge.shipping_country or "")
    return bom.explode(
        catalog=catalog,
        reward_id=pledge.reward_id,
        country=country,
        pledged_at=pledge.pledged_at,
        choices=response.choices if choices is None else choices,
        addons=_cart_pairs(response) if cart is None else cart,
        imported_addons_text=pledge.addons_text,
        regional_opt_outs=response.regional_opt_outs,
    )


def pending_choice_groups(lines: Sequence[bom.BomLine]) -> list[int]:
    return [line.group_id for line in lines if line.source == "choice_pending"]


def save_choices(
    *,
    response: SurveyResponse,
    survey: Survey,
    choices: Mapping[int, Sequence[int]],
    regional_opt_outs: Sequence[int] = (),
    pledge: Pledge | None = None,
    catalog: bom.Catalog | None = None,
) -> None:
    """Store the picks for the reward's and bought add-ons' choice groups.

    Every group this response has must get exactly its number of picks; a
    regional edition may be declined only where the creator allows it."""
    _editable(response, survey)
    pledge = pledge or pledge_of(response)
    catalog = catalog or bom.load_catalog(campaign=survey.campaign_id)
    clean = {str(group): [int(o) for o in options] for group, options in choices.items()}
    try:
        lines = bom_of(response=response, pledge=pledge, catalog=catalog, choices=clean)
    except bom.BomError as exc:
        raise ChoiceInvalid(exc.message) from exc
    missing = pending_choice_groups(lines)
    if missing:
        group = catalog.groups[missing[0]]
        raise ChoiceInvalid(
            _("Choose %(picks)s for “%(group)s”.") % {"picks": group.picks, "group": group.name},
            field=f"group_{group.id}",
        )
    allowed = {rule.id for rule in catalog.rules if rule.backer_can_override}
    opt_outs = sorted({int(r) for r in regional_opt_outs} & allowed)
    response.choices = clean
    response.regional_opt_outs = opt_outs
    _mark_done(response, SurveyStep.CHOICES)
    response.save(update_fields=["choices", "regional_opt_outs", "steps_done", "updated_at"])


@dataclass(frozen=True)
class CartChange:
    offer_id: int
    quantity: int


def update_cart(
    *,
    response: SurveyResponse,
    survey: Survey,
    quantities: Mapping[int, int],
    pledge: Pledge | None = None,
) -> None:
    """Set the cart's quantity for each offer given (0 removes it).

    Rules: the offer is active and open now, offered to this backer's tier,
    within its per-backer limit, and — for stock-limited offers — the units
    sold to other backers plus this backer's never exceed the stock. The
    offers' rows are locked in id order before reading their sold units, which
    only this function changes, under that lock: concurrent buyers of the last
    units queue here instead of overselling (test responses are checked but do
    not take stock)."""
    _editable(response, survey)
    wanted = {int(k): int(v) for k, v in quantities.items()}
    if any(q < 0 for q in wanted.values()):
        raise CartInvalid(_("Quantities cannot be negative."))
    pledge = pledge or pledge_of(response)
    now = timezone.now()
    currency = survey.campaign.currency
    with transaction.atomic():
        offers = list(
            AddOnOffer.objects.select_for_update()
            .filter(campaign_id=survey.campaign_id, pk__in=wanted)
            .order_by("pk")
        )
        if len(offers) != len(wanted):
            raise CartInvalid(_("One of these add-ons is not offered in this survey."))
        current = {line.offer_id: line for line in CartLine.objects.filter(response=response)}
        tier_ids = {
            offer_id: set(ids) for offer_id, ids in _offer_tiers([o.pk for o in offers]).items()
        }
        counted = not response.is_test
        sold_changed = []

        def take(offer: AddOnOffer, units: int) -> None:
            if counted and units:
                offer.sold_units += units
                sold_changed.append(offer)

        for offer in offers:
            quantity = wanted[offer.pk]
            line = current.get(offer.pk)
            held = line.quantity if line is not None else 0
            field = f"offer_{offer.pk}"
            if quantity == 0:
                if line is not None:
                    line.delete()
                    take(offer, -held)
                continue
            if line is not None and line.quantity == quantity:
                continue
            if not offer.is_active or (offer.opens_at and now < offer.opens_at):
                raise CartInvalid(
                    _("“%(name)s” is not on sale.") % {"name": offer.name}, field=field
                )
            if offer.closes_at and now >= offer.closes_at:
                raise CartInvalid(
                    _("“%(name)s” is no longer on sale.") % {"name": offer.name}, field=field
                )
            tiers = tier_ids.get(offer.pk)
            if tiers and pledge.reward_id not in tiers:
                raise CartInvalid(
                    _("“%(name)s” is not offered with your reward.") % {"name": offer.name},
                    field=field,
                )
            if offer.per_backer_limit is not None and quantity > offer.per_backer_limit:
                raise CartInvalid(
                    _("You can buy at most %(limit)s of “%(name)s”.")
                    % {"limit": offer.per_backer_limit, "name": offer.name},
                    field=field,
                )
            if offer.stock_limit is not None:
                others = offer.sold_units - (held if counted else 0)
                left = max(0, offer.stock_limit - others)
                if quantity > left:
                    message = (
                        _("“%(name)s” is sold out.") % {"name": offer.name}
                        if left == 0
                        else ngettext(
                            "Only %(left)s of “%(name)s” is left.",
                            "Only %(left)s of “%(name)s” are left.",
                            left,
                        )
                        % {"left": left, "name": offer.name}
                    )
                    raise OutOfStock(message, field=field)
            if line is None:
                CartLine.objects.create(
                    response=response,
                    offer=offer,
                    quantity=quantity,
                    unit_price=Money(offer.price.amount, currency),
                    is_test=response.is_test,
                )
            else:
                line.quantity = quantity
                line.save(update_fields=["quantity", "updated_at"])
            take(offer, quantity - held)
        if sold_changed:
            AddOnOffer.objects.bulk_update(set(sold_changed), ["sold_units"])
        _mark_done(response, SurveyStep.ADDONS)
        # A changed cart changes the balance: the backer reviews it again.
        reopened = response.completed_at is not None
        response.completed_at = None
        response.save(update_fields=["steps_done", "completed_at", "updated_at"])
        if reopened:
            _order_follows(response, reopened=True)


def _offer_tiers(offer_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    for offer_id, reward_id in AddOnOffer.tiers.through.objects.filter(
        addonoffer_id__in=offer_ids
    ).values_list("addonoffer_id", "reward_id"):
        result.setdefault(offer_id, []).append(reward_id)
    return result


def offers_on_sale(*, campaign, reward_id: int | None) -> list[AddOnOffer]:
    """Offers this backer may buy now: active, open, for their tier (sold-out ones
    stay listed, marked, so the backer sees why)."""
    now = timezone.now()
    result = []
    for offer in AddOnOffer.objects.filter(campaign=campaign, is_active=True).prefetch_related(
        "tiers"
    ):
        if (offer.opens_at and now < offer.opens_at) or (
            offer.closes_at and now >= offer.closes_at
        ):
            continue
        tiers = {t.pk for t in offer.tiers.all()}
        if tiers and reward_id not in tiers:
            continue
        result.append(offer)
    return result


def choice_groups(
    *, response: SurveyResponse, pledge: Pledge, catalog: bom.Catalog
) -> list[bom.CatalogGroup]:
    """The choice groups of the reward and of the add-ons in the cart."""
    groups = list(catalog.groups_for_reward(pledge.reward_id)) if pledge.reward_id else []
    for offer_id, _quantity in _cart_pairs(response):
        groups += catalog.groups_for_offer(offer_id)
    return groups


def optional_rules(
    *, response: SurveyResponse, pledge: Pledge, catalog: bom.Catalog
) -> list[bom.CatalogRule]:
    """Regional editions for this destination that the backer may decline."""
    country = response.address_country or str(pledge.shipping_country or "")
    return [r for r in catalog.rules if r.backer_can_override and country in r.countries]


def steps_for(
    *, response: SurveyResponse, survey: Survey, pledge: Pledge, catalog: bom.Catalog
) -> list[str]:
    """This backer's steps, in order: only those that have something to ask.
    No query beyond the cart (none when the page prefetched it)."""
    content = survey_content(survey=survey)
    steps = [SurveyStep.REWARD]
    if choice_groups(response=response, pledge=pledge, catalog=catalog) or optional_rules(
        response=response, pledge=pledge, catalog=catalog
    ):
        steps.append(SurveyStep.CHOICES)
    if content.offers_on_sale(reward_id=pledge.reward_id) or _cart_pairs(response):
        steps.append(SurveyStep.ADDONS)
    if content.questions_for(reward_id=pledge.reward_id):
        steps.append(SurveyStep.QUESTIONS)
    steps += [SurveyStep.ADDRESS, SurveyStep.REVIEW]
    return [str(s) for s in steps]


def questions_for(*, survey: Survey, reward_id: int | None) -> list[Question]:
    """The custom questions this backer's tier sees, in order."""
    return survey_content(survey=survey).questions_for(reward_id=reward_id)


def save_answers(
    *, response: SurveyResponse, survey: Survey, answers: Mapping[str, object]
) -> None:
    """Store the (already validated) answers to the custom questions."""
    _editable(response, survey)
    response.answers = {str(k): v for k, v in answers.items()}
    _mark_done(response, SurveyStep.QUESTIONS)
    response.save(update_fields=["answers", "steps_done", "updated_at"])


def _same_person(response: SurveyResponse) -> dict:
    """Filters for rows whose backer is the person behind `response`: the same
    normalised email in the same organization, read by subqueries (no query of its own)."""
    backer = Backer.objects.filter(pk=response.backer_id)
    return {
        "backer__email_normalized": Subquery(backer.values("email_normalized")[:1]),
        "backer__campaign__organization_id": Subquery(
            backer.values("campaign__organization_id")[:1]
        ),
    }


def sibling_responses(response: SurveyResponse) -> list[SurveyResponse]:
    """The same person's other open responses in the organization: backers with
    the same email (several pledges, several platforms, several campaigns). Locked
    ones (their order locked, their survey closed) are left out. One query."""
    return list(
        SurveyResponse.objects.select_related("invite__survey__campaign")
        .filter(**_same_person(response), is_test=response.is_test, locked_at__isnull=True)
        .exclude(backer__email_normalized="")
        .exclude(invite__survey__status=SurveyStatus.CLOSED)
        .exclude(pk=response.pk)
    )


def sibling_invites(response: SurveyResponse) -> list[SurveyInvite]:
    """The same person's invites in the organization whose link was never opened (no
    response yet), which "use this address for all my pledges" reaches too. Only
    invites of a live survey whose backer's order is not locked; never test invites,
    and none for a test response (it must not touch a real backer's survey). One query."""
    from orders.models import Order, OrderKind

    if response.is_test:
        return []
    locked_order = Order.objects.filter(
        backer_id=OuterRef("backer_id"), kind=OrderKind.STANDARD, locked_at__isnull=False
    )
    return list(
        SurveyInvite.objects.select_related("survey__campaign")
        .filter(
            **_same_person(response),
            is_test=False,
            response__isnull=True,
            survey__status=SurveyStatus.LIVE,
        )
        .exclude(backer__email_normalized="")
        .exclude(Exists(locked_order))
    )


def save_address(
    *,
    response: SurveyResponse,
    survey: Survey,
    address: Mapping[str, str],
    vat_number: str = "",
    apply_to_all: bool = False,
) -> int:
    """Store the (already normalised) shipping address; with `apply_to_all`, also
    on the same person's other responses that are not locked. Returns how many
    other responses took it."""
    _editable(response, survey)
    copied = 0
    with transaction.atomic():
        response.address = dict(address)
        response.address_country = address.get("country_code", "")
        response.vat_number = vat_number
        _mark_done(response, SurveyStep.ADDRESS)
        reopened = response.completed_at is not None and _money_moved(response, survey)
        if reopened:
            # Shipping and tax follow the address: the backer confirms them again (and
            # the review refuses a destination the campaign does not ship to).
            response.completed_at = None
        response.save(
            update_fields=[
                "address",
                "address_country",
                "vat_number",
                "steps_done",
                "completed_at",
                "updated_at",
            ]
        )
        if apply_to_all:
            others = sibling_responses(response)
            # Invites never opened get their response now, as open_invite makes it,
            # but the link stays unopened (reminders and "opened" figures go on).
            started = [
                SurveyResponse.objects.get_or_create(
                    invite=invite,
                    defaults={
                        "backer_id": invite.backer_id,
                        "is_test": invite.is_test,
                        "language": response.language,
                        "credit": Money(0, invite.survey.campaign.currency),
                    },
                )[0]
                for invite in sibling_invites(response)
            ]
            for other in [*others, *started]:
                if is_locked(other, survey=other.invite.survey):
                    continue
                other.address = dict(address)
                other.address_country = response.address_country
                _mark_done(other, SurveyStep.ADDRESS)
                other.save(update_fields=["address", "address_country", "steps_done", "updated_at"])
                _order_follows(other)
                copied += 1
        _order_follows(response, reopened=reopened)
    return copied


def _money_moved(response: SurveyResponse, survey: Survey) -> bool:
    """Whether the confirmed money of a completed response no longer holds (its
    address changed): another shipping fee or tax, or a destination refused."""
    result = quote_for(response=response, survey=survey)
    if result.shipping_error or result.tax_error:
        return True

    def amount(money) -> Decimal:
        return money.amount if money is not None else Decimal(0)

    confirmed = (
        amount(response.shipping_total),
        amount(response.tax_total),
        amount(response.credit),
        amount(response.balance_due),
    )
    return confirmed != (result.shipping, result.tax, result.credit, result.balance_due)


def quote_for(
    *, response: SurveyResponse, survey: Survey, pledge: Pledge | None = None, catalog=None
) -> Quote:
    """The response's money now (pass the pledge and catalog when already loaded)."""
    pledge = pledge or pledge_of(response)
    catalog = catalog or bom.load_catalog(campaign=survey.campaign_id)
    return quote(response=response, pledge=pledge, survey=survey, catalog=catalog)


def missing_steps(*, response: SurveyResponse, survey: Survey, steps: Sequence[str]) -> list[str]:
    """Steps of this backer's survey that still need an answer before review."""
    return [s for s in steps if s != SurveyStep.REVIEW and s not in response.steps_done]


def complete_survey(
    *,
    response: SurveyResponse,
    survey: Survey,
    steps: Sequence[str],
    pledge: Pledge | None = None,
    catalog: bom.Catalog | None = None,
) -> Quote:
    """The backer confirms the review: snapshot the money and mark completed
    (and paid when nothing is due). Every earlier step must be done and no
    choice left open."""
    _editable(response, survey)
    missing = missing_steps(response=response, survey=survey, steps=steps)
    if missing:
        raise SurveyIncomplete(_("Please complete every step first."), field=missing[0])
    pledge = pledge or pledge_of(response)
    catalog = catalog or bom.load_catalog(campaign=survey.campaign_id)
    if pending_choice_groups(bom_of(response=response, pledge=pledge, catalog=catalog)):
        raise SurveyIncomplete(_("Some choices are still open."), field=SurveyStep.CHOICES)
    result = quote(response=response, pledge=pledge, survey=survey, catalog=catalog)
    if result.shipping_error:
        raise SurveyIncomplete(result.shipping_error, field=SurveyStep.ADDRESS)
    if result.tax_error:
        raise SurveyIncomplete(
            _("Tax for your destination cannot be calculated yet. Please come back later."),
            field=SurveyStep.REVIEW,
        )
    if not response.is_test:
        from .late_pledges import check_late_stock  # late_pledges builds on this module

        check_late_stock(response=response, pledge=pledge)
    now = timezone.now()
    response.credit = result.money(result.credit)
    # A late pledge's price, or the reward of a pledge the platform did not collect.
    response.reward_due = result.money(result.reward_due)
    response.addons_total = result.money(result.addons_total)
    response.shipping_total = result.money(result.shipping)
    response.tax_total = result.money(result.tax)
    response.balance_due = result.money(result.balance_due)
    response.tax_regime = result.tax_regime
    response.tax_collected_at_checkout = result.tax_collected
    response.import_tax_at_delivery = result.import_tax_at_delivery
    response.ddp = result.ddp
    response.reverse_charge = result.reverse_charge
    response.customs_number = result.customs_number
    response.completed_at = now
    # Paid means nothing left to pay: a confirmation that adds to what was paid (a
    # second add-on after paying) is unpaid again, so its order asks for the rest.
    if result.balance_due <= paid_for_order(response):
        response.paid_at = response.paid_at or now
    else:
        response.paid_at = None
    _mark_done(response, SurveyStep.REVIEW)
    response.save()
    _order_follows(response)
    return result


def stock_left(*, offers, response: SurveyResponse) -> dict[int, int]:
    """Units of each stock-limited offer this backer could still have: the stock
    less what other backers hold (shown on the store; update_cart decides).
    One query: the offers' sold units now (offers may come from a cache)."""
    limited = [o.pk for o in offers if o.stock_limit is not None]
    if not limited:
        return {}
    mine = {} if response.is_test else dict(_cart_pairs(response))
    return {
        pk: max(0, stock - (sold - mine.get(pk, 0)))
        for pk, stock, sold in AddOnOffer.objects.filter(pk__in=limited).values_list(
            "pk", "stock_limit", "sold_units"
        )
    }
