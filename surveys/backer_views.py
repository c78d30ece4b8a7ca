"""The backer's survey pages: magic link in, one step per page, review, done.

Who the backer is comes only from the session, which a valid magic link
fills (campaign id → invite id); no URL carries a backer or response id, so
one backer's session can never name another's survey. Pages work without
JavaScript; htmx only refreshes the address form when the country changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries

from config.forms import add_refusal
from inventory import bom
from orders.models import LineSource, Order, OrderKind, OrderState
from pledges.models import Campaign, Pledge

from . import address as addresses
from .backer_forms import AddOnsForm, ChoicesForm, QuestionsForm, clean_vat_number
from .errors import LinkInvalid, SurveysError
from .links import invite_from_token
from .models import (
    CHOICE_KINDS,
    AddOnOffer,
    CartLine,
    QuestionKind,
    Survey,
    SurveyInvite,
    SurveyResponse,
    SurveyStatus,
    SurveyStep,
)
from .services import responses as services
from .services.catalog_texts import catalog_texts

SESSION_KEY = "survey_invites"  # {campaign id: invite id}
LANGUAGE_SESSION_KEY = "survey_language"


# --- where we are ------------------------------------------------------------


def backer_reverse(request, name: str, *, slug: str, **kwargs) -> str:
    """A backer page's path on the root this request came in on."""
    if getattr(request, "survey_host_slug", None):
        return reverse(name, urlconf="config.survey_host_urls", kwargs=kwargs or None)
    return reverse(name, kwargs={"slug": slug, **kwargs})


def campaign_of(request, slug: str | None = None) -> tuple[Campaign, Survey]:
    """The campaign and survey a backer page is for (its host name or /s/<slug>/), or 404.
    One query."""
    slug = getattr(request, "survey_host_slug", None) or slug
    survey = (
        Survey.objects.select_related("campaign__organization").filter(campaign__slug=slug).first()
    )
    if survey is None:
        get_object_or_404(Campaign, slug=slug)
        raise Http404("This campaign has no survey.")
    return survey.campaign, survey


def survey_languages(survey: Survey) -> list[tuple[str, str]]:
    from django.conf import settings

    offered = set(survey.languages or ["en"]) | {"en"}
    return [(code, name) for code, name in settings.LANGUAGES if code in offered]


def _browser_language(request, survey: Survey) -> str:
    offered = [code for code, _name in survey_languages(survey)]
    preferred = translation.get_language_from_request(request)
    return preferred if preferred in offered else offered[0]


def _language(request, survey: Survey, response: SurveyResponse | None) -> str:
    offered = [code for code, _name in survey_languages(survey)]
    for candidate in (
        response.language if response else None,
        request.session.get(LANGUAGE_SESSION_KEY),
    ):
        if candidate in offered:
            return candidate
    return _browser_language(request, survey)


@dataclass
class Visit:
    """The backer behind this request: invite, response and what they pledged,
    with the survey's content (catalog, offers, questions) from the process cache."""

    campaign: Campaign
    survey: Survey
    invite: SurveyInvite
    response: SurveyResponse
    pledge: Pledge
    content: services.SurveyContent
    language: str

    @property
    def catalog(self) -> bom.Catalog:
        return self.content.catalog

    @property
    def locked(self) -> bool:
        return services.is_locked(self.response, survey=self.survey)

    def reload_cart(self) -> None:
        """The cart changed: read it again (once) for what follows. The cart the page
        prefetched is dropped first: prefetching over it would keep the old lines."""
        getattr(self.response, "_prefetched_objects_cache", {}).pop("cart", None)
        prefetch_related_objects([self.response], "cart")


def _visit(request, slug) -> Visit | None:
    """Three queries: the response with its invite, survey and campaign (the session
    names the invite; the slug must match), its cart, and the pledge with its reward.
    The catalog, offers and questions come from the cache of this process."""
    slug = getattr(request, "survey_host_slug", None) or slug
    invites = request.session.get(SESSION_KEY, {})
    if not invites:
        campaign_of(request, slug)  # a 404 for an unknown campaign, not a redirect
        return None
    response = (
        SurveyResponse.objects.select_related("invite__survey__campaign__organization")
        .filter(
            invite_id__in=[int(pk) for pk in invites.values()], invite__survey__campaign__slug=slug
        )
        .first()
    )
    if response is None:
        campaign_of(request, slug)
        return None
    invite = response.invite
    survey = invite.survey
    campaign = survey.campaign
    if invites.get(str(campaign.pk)) != invite.pk:
        return None
    prefetch_related_objects([response], "cart")
    pledge = Pledge.objects.select_related("reward", "backer").get(backer_id=response.backer_id)
    return Visit(
        campaign=campaign,
        survey=survey,
        invite=invite,
        response=response,
        pledge=pledge,
        content=services.survey_content(survey=survey),
        language=_language(request, survey, response),
    )


def _page(request, visit_or_campaign, template: str, context: dict, *, status: int = 200):
    if isinstance(visit_or_campaign, Visit):
        campaign, survey = visit_or_campaign.campaign, visit_or_campaign.survey
        language = visit_or_campaign.language
        context.setdefault("visit", visit_or_campaign)
    else:
        campaign, survey = visit_or_campaign
        language = _language(request, survey, None)
    context.setdefault("texts", catalog_texts(survey=survey, language=language))
    intro = campaign.intro_text
    if language != "en":
        intro = (survey.texts.get(language) or {}).get("intro") or intro
    context.update(
        campaign=campaign,
        survey=survey,
        intro=intro,
        languages=survey_languages(survey),
        language=language,
        is_test=isinstance(visit_or_campaign, Visit) and visit_or_campaign.response.is_test,
    )
    with translation.override(language):
        response = render(request, template, context, status=status)
    response.headers["Content-Language"] = language
    return response


# --- steps -------------------------------------------------------------------


def _offers_on_sale(visit: Visit) -> list[AddOnOffer]:
    return visit.content.offers_on_sale(reward_id=visit.pledge.reward_id)


def _choice_groups(visit: Visit) -> list[bom.CatalogGroup]:
    return services.choice_groups(
        response=visit.response, pledge=visit.pledge, catalog=visit.catalog
    )


def _optional_rules(visit: Visit) -> list[bom.CatalogRule]:
    return services.optional_rules(
        response=visit.response, pledge=visit.pledge, catalog=visit.catalog
    )


def steps_of(visit: Visit) -> list[str]:
    return services.steps_for(
        response=visit.response, survey=visit.survey, pledge=visit.pledge, catalog=visit.catalog
    )


def _next_step(visit: Visit, steps: list[str]) -> str:
    for step in steps:
        if step not in visit.response.steps_done:
            return step
    return SurveyStep.REVIEW


def _step_url(request, visit: Visit, step: str) -> str:
    return backer_reverse(request, "survey-step", slug=visit.campaign.slug, step=step)


def _after(request, visit: Visit, steps: list[str], current: str) -> HttpResponseRedirect:
    """Go on to the step after `current` (or back to review once everything is done).
    The step's service saved steps_done and completed_at on visit.response itself."""
    if all(s in visit.response.steps_done for s in steps if s != SurveyStep.REVIEW):
        if visit.response.completed_at is not None:
            messages.success(request, _("Saved."))
            return redirect(backer_reverse(request, "survey-done", slug=visit.campaign.slug))
        return redirect(_step_url(request, visit, SurveyStep.REVIEW))
    index = steps.index(current)
    return redirect(_step_url(request, visit, steps[min(index + 1, len(steps) - 1)]))


def _posted(request):
    """The POST data to bind a form to (an empty POST still binds: "nothing chosen")."""
    return request.POST if request.method == "POST" else None


def _bom_lines(visit: Visit) -> list[bom.BomLine]:
    try:
        return services.bom_of(response=visit.response, pledge=visit.pledge, catalog=visit.catalog)
    except bom.BomError:
        # A map change made stored picks invalid: show the reward without them.
        return services.bom_of(
            response=visit.response, pledge=visit.pledge, catalog=visit.catalog, choices={}
        )


# --- views -------------------------------------------------------------------


def home(request, slug=None):
    """The survey's front door: resume where the backer was, or ask for their link."""
    visit = _visit(request, slug)
    if visit is not None:
        steps = steps_of(visit)
        if visit.response.completed_at or visit.locked:
            return redirect(backer_reverse(request, "survey-done", slug=visit.campaign.slug))
        return redirect(_step_url(request, visit, _next_step(visit, steps)))
    campaign, survey = campaign_of(request, slug)
    return _page(request, (campaign, survey), "surveys/backer/home.html", {})


def remember_invite(request, campaign, invite, language: str) -> None:
    """This session is now `invite`'s backer for `campaign` (magic link or late pledge)."""
    invites = dict(request.session.get(SESSION_KEY, {}))
    if invites.get(str(campaign.pk)) != invite.pk:
        request.session.cycle_key()  # a new identity on this device: a new session id
    invites[str(campaign.pk)] = invite.pk
    request.session[SESSION_KEY] = invites
    request.session[LANGUAGE_SESSION_KEY] = language


def open_link(request, token, slug=None):
    """A magic link: check it, remember the invite in the session, go to the next step
    (or to the step the link names with `?step=`)."""
    campaign, survey = campaign_of(request, slug)
    try:
        invite = invite_from_token(token, survey=survey)
        if survey.status in (SurveyStatus.DRAFT, SurveyStatus.SMOKE_TEST) and not invite.is_test:
            raise LinkInvalid(_("This survey is not open yet."))
    except LinkInvalid as exc:
        return _page(
            request,
            (campaign, survey),
            "surveys/backer/link_invalid.html",
            {"message": exc.message, "expired": exc.code == "link_expired"},
            status=403,
        )
    response = services.open_invite(invite=invite, language=_browser_language(request, survey))
    remember_invite(request, campaign, invite, response.language)
    # A link may name the step it is for (the "fix your address" email): open that
    # step when this backer's survey has it and is not locked, else resume as usual.
    wanted = request.GET.get("step", "")
    if wanted:
        visit = _visit(request, slug)
        if visit is not None and not visit.locked and wanted in steps_of(visit):
            return redirect(_step_url(request, visit, wanted))
    return redirect(backer_reverse(request, "survey-home", slug=campaign.slug))


@require_POST
def set_language(request, slug=None):
    campaign, survey = campaign_of(request, slug)
    language = request.POST.get("language", "")
    if language in dict(survey_languages(survey)):
        request.session[LANGUAGE_SESSION_KEY] = language
        visit = _visit(request, slug)
        if visit is not None:
            SurveyResponse.objects.filter(pk=visit.response.pk).update(language=language)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = backer_reverse(request, "survey-home", slug=campaign.slug)
    return redirect(target)


@require_http_methods(["GET", "POST"])
def step(request, step, slug=None):
    visit = _visit(request, slug)
    if visit is None:
        return redirect(backer_reverse(request, "survey-home", slug=slug or ""))
    steps = steps_of(visit)
    if step not in steps:
        raise Http404("No such step.")
    if visit.locked:
        if request.method == "POST":
            messages.error(request, _("Your order is locked: it can no longer be changed."))
        return redirect(backer_reverse(request, "survey-done", slug=visit.campaign.slug))
    handler = STEP_VIEWS[step]
    with translation.override(visit.language):
        return handler(request, visit, steps)


def _context(visit: Visit, steps: list[str], current: str, **extra) -> dict:
    labels = dict(
        (
            (SurveyStep.REWARD, _("Reward")),
            (SurveyStep.CHOICES, _("Choices")),
            (SurveyStep.ADDONS, _("Add-ons")),
            (SurveyStep.QUESTIONS, _("Questions")),
            (SurveyStep.ADDRESS, _("Address")),
            (SurveyStep.REVIEW, _("Review")),
        )
    )
    return {
        "steps": [
            {"key": s, "label": labels[s], "done": s in visit.response.steps_done} for s in steps
        ],
        "current": current,
        "position": steps.index(current) + 1,
        "step_count": len(steps),
        **extra,
    }


def _reward_step(request, visit: Visit, steps):
    if request.method == "POST":
        services.confirm_reward(response=visit.response, survey=visit.survey)
        return _after(request, visit, steps, SurveyStep.REWARD)
    lines = [line for line in _bom_lines(visit) if line.source != "addon_unmapped"]
    quote = services.quote_for(
        response=visit.response, survey=visit.survey, pledge=visit.pledge, catalog=visit.catalog
    )
    return _page(
        request,
        visit,
        "surveys/backer/step_reward.html",
        _context(visit, steps, SurveyStep.REWARD, lines=lines, quote=quote),
    )


def _choices_step(request, visit: Visit, steps):
    groups = _choice_groups(visit)
    rules = _optional_rules(visit)
    texts = catalog_texts(survey=visit.survey, language=visit.language)
    form = ChoicesForm(_posted(request), groups=groups, rules=rules, texts=texts)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_choices(
                response=visit.response,
                survey=visit.survey,
                choices=form.choices(),
                regional_opt_outs=form.opt_outs(),
                pledge=visit.pledge,
                catalog=visit.catalog,
            )
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            return _after(request, visit, steps, SurveyStep.CHOICES)
    elif request.method == "GET":
        form = ChoicesForm(
            initial=form.initial_from(visit.response.choices, visit.response.regional_opt_outs),
            groups=groups,
            rules=rules,
            texts=texts,
        )
    options = {o.id: o for g in groups for o in g.options}
    skus = visit.catalog.skus
    return _page(
        request,
        visit,
        "surveys/backer/step_choices.html",
        _context(visit, steps, SurveyStep.CHOICES, form=form, options=options, skus=skus),
        status=400 if request.method == "POST" else 200,
    )


def _addons_step(request, visit: Visit, steps):
    offers = _offers_on_sale(visit)
    cart = {line.offer_id: line for line in visit.response.cart.all()}
    # Offers already in the cart stay listed (to be removed) even if no longer on sale.
    listed = {o.pk for o in offers}
    if any(offer_id not in listed for offer_id in cart):
        offers += [
            line.offer for line in CartLine.objects.filter(
                response=visit.response
            ).exclude(offer_id__in=listed).select_related("offer")
        ]  # fmt: skip
    texts = catalog_texts(survey=visit.survey, language=visit.language)
    form = AddOnsForm(_posted(request), offers=offers, texts=texts)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_cart(
                response=visit.response,
                survey=visit.survey,
                quantities=form.quantities(),
                pledge=visit.pledge,
            )
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            visit.reload_cart()
            pending = services.pending_choice_groups(_bom_lines(visit))
            if pending:
                messages.info(request, _("Pick the options of your add-ons."))
                return redirect(_step_url(request, visit, SurveyStep.CHOICES))
            return _after(request, visit, steps_of(visit), SurveyStep.ADDONS)
    elif request.method == "GET":
        form = AddOnsForm(
            initial={f"offer_{k}": line.quantity for k, line in cart.items()},
            offers=offers,
            texts=texts,
        )
    left = services.stock_left(offers=offers, response=visit.response)
    rows = [
        {"offer": offer, "field": form[f"offer_{offer.pk}"], "left": left.get(offer.pk)}
        for offer in offers
    ]
    quote = services.quote_for(
        response=visit.response, survey=visit.survey, pledge=visit.pledge, catalog=visit.catalog
    )
    return _page(
        request,
        visit,
        "surveys/backer/step_addons.html",
        _context(visit, steps, SurveyStep.ADDONS, form=form, rows=rows, quote=quote),
        status=400 if request.method == "POST" else 200,
    )


def _questions_step(request, visit: Visit, steps):
    questions = services.questions_for(survey=visit.survey, reward_id=visit.pledge.reward_id)
    form = QuestionsForm(_posted(request), questions=questions, language=visit.language)
    if request.method == "POST" and form.is_valid():
        services.save_answers(response=visit.response, survey=visit.survey, answers=form.answers())
        return _after(request, visit, steps, SurveyStep.QUESTIONS)
    if request.method == "GET":
        form = QuestionsForm(
            initial=form.initial_from(visit.response.answers),
            questions=questions,
            language=visit.language,
        )
    return _page(
        request,
        visit,
        "surveys/backer/step_questions.html",
        _context(visit, steps, SurveyStep.QUESTIONS, form=form),
        status=400 if request.method == "POST" else 200,
    )


def _address_initial(visit: Visit) -> dict:
    if visit.response.address:
        return dict(visit.response.address)
    pledge = visit.pledge
    street = "\n".join(p for p in (pledge.shipping_address_1, pledge.shipping_address_2) if p)
    imported = {
        "name": pledge.shipping_name or pledge.backer.name,
        "street_address": street,
        "city": pledge.shipping_city,
        "country_area": pledge.shipping_region,
        "postal_code": pledge.shipping_postal_code,
        "country_code": str(pledge.shipping_country or ""),
        "phone": pledge.shipping_phone,
    }
    try:
        # The platform's "California" becomes the list's "CA", so it is preselected.
        return addresses.normalize_address(imported)
    except (SurveysError, ValueError):
        return imported


def _address_step(request, visit: Visit, steps):
    policy = visit.survey.phone_policy
    # The same person's other pledges the address can go on: surveys begun, and
    # invites whose link was never opened (saving starts their response).
    siblings = [
        *services.sibling_responses(visit.response),
        *services.sibling_invites(visit.response),
    ]
    initial = _address_initial(visit)
    default_country = initial.get("country_code") or "US"
    refresh = request.method == "POST" and "refresh" in request.POST
    if refresh:
        # The backer changed the country: the form for that country, with what
        # they typed, and no errors yet.
        posted = {key: request.POST.get(key, "") for key in addresses.ADDRESS_KEYS}
        country = posted["country_code"].upper()
        if country not in dict(countries):
            country = default_country
        form = addresses.AddressForm(initial=posted, country_code=country, phone_policy=policy)
    elif request.method == "POST":
        form = addresses.AddressForm.for_data(
            request.POST, default_country=default_country, phone_policy=policy
        )
    else:
        form = addresses.AddressForm(
            initial=initial, country_code=default_country, phone_policy=policy
        )
    vat_value = request.POST.get("vat_number", visit.response.vat_number)
    vat_error = ""
    if request.method == "POST" and not refresh:
        valid = form.is_valid()
        vat_number = ""
        if valid:
            try:
                vat_number = clean_vat_number(vat_value, form.address()["country_code"])
            except ValidationError as exc:  # shown next to the field
                vat_error = " ".join(exc.messages)
                valid = False
        if valid:
            try:
                copied = services.save_address(
                    response=visit.response,
                    survey=visit.survey,
                    address=form.address(),
                    vat_number=vat_number,
                    apply_to_all=bool(request.POST.get("apply_to_all")),
                )
            except SurveysError as exc:
                form.add_error(None, exc.message)
            else:
                if copied:
                    messages.success(
                        request,
                        ngettext(
                            "The address was also saved on your other pledge.",
                            "The address was also saved on your %(n)s other pledges.",
                            copied,
                        )
                        % {"n": copied},
                    )
                return _after(request, visit, steps_of(visit), SurveyStep.ADDRESS)
    template = (
        "surveys/backer/_address_form.html"
        if request.htmx and refresh
        else "surveys/backer/step_address.html"
    )
    return _page(
        request,
        visit,
        template,
        _context(
            visit,
            steps,
            SurveyStep.ADDRESS,
            form=form,
            refresh=refresh,
            siblings=siblings,
            vat_value=vat_value,
            vat_error=vat_error,
        ),
        status=400 if request.method == "POST" and not refresh else 200,
    )


def _review_step(request, visit: Visit, steps):
    missing = services.missing_steps(response=visit.response, survey=visit.survey, steps=steps)
    error = ""
    if request.method == "POST":
        try:
            services.complete_survey(
                response=visit.response,
                survey=visit.survey,
                steps=steps,
                pledge=visit.pledge,
                catalog=visit.catalog,
            )
        except SurveysError as exc:
            error = exc.message
        else:
            return redirect(backer_reverse(request, "survey-done", slug=visit.campaign.slug))
    return _page(
        request,
        visit,
        "surveys/backer/step_review.html",
        _context(visit, steps, SurveyStep.REVIEW, **_summary(visit), missing=missing, error=error),
        status=400 if error else 200,
    )


def _localized_date(value: str) -> str:
    """A date answer (stored as ISO) as the backer's language writes dates."""
    try:
        return formats.date_format(date.fromisoformat(value), "DATE_FORMAT")
    except (TypeError, ValueError):
        return value


def _answers(visit: Visit) -> list[tuple[str, str]]:
    """The backer's answers to the custom questions, as (question, answer) to show."""
    questions = services.questions_for(survey=visit.survey, reward_id=visit.pledge.reward_id)
    answers = []
    for question in questions:
        value = visit.response.answers.get(str(question.pk))
        text = question.text(visit.language)
        if question.kind in CHOICE_KINDS:
            # Stored as the option's own (English) text: shown in the backer's language.
            shown = dict(zip(question.options, text["options"], strict=False))
            chosen = value if isinstance(value, list) else [value] if value else []
            value = ", ".join(shown.get(option, option) for option in chosen)
        elif question.kind == QuestionKind.DATE and value:
            value = _localized_date(value)
        elif isinstance(value, bool):
            value = _("Yes") if value else _("No")
        elif isinstance(value, list):
            value = ", ".join(value)
        answers.append((text["label"], value or "—"))
    return answers


def _summary(visit: Visit) -> dict:
    """What the review and done pages show: lines, answers, address, money."""
    quote = services.quote_for(
        response=visit.response, survey=visit.survey, pledge=visit.pledge, catalog=visit.catalog
    )
    paid = services.paid_for_order(visit.response) if visit.response.completed_at else Decimal(0)
    return {
        "lines": _bom_lines(visit),
        "answers": _answers(visit),
        "address_lines": addresses.format_address(visit.response.address)
        if visit.response.address
        else [],
        "quote": quote,
        # Paid for the order already (the quote does not know): shown apart, and
        # what is left is what the pay page asks for.
        "paid_so_far": paid,
        "balance_left": max(quote.balance_due - paid, Decimal(0)),
    }


def _locked_order(visit: Visit) -> Order | None:
    """The order a locked response shows (the order it was merged into, if so); None
    while the response is open or has no order, and always for a test response (it
    never sees the backer's real order). Two queries: the order with its address (and
    the kept order's), then its lines."""
    if visit.response.is_test or not visit.locked:
        return None
    order = (
        Order.objects.select_related("address", "merged_into__address")
        .filter(
            campaign=visit.campaign, backer_id=visit.response.backer_id, kind=OrderKind.STANDARD
        )
        .first()
    )
    if order is None:
        return None
    if order.merged_into_id:
        order = order.merged_into
    prefetch_related_objects([order], "lines")
    return order


def _order_status(order: Order) -> tuple[str, str]:
    """The order's state in the backer's words: a label and a sentence."""
    if order.state == OrderState.LOCKED:
        return _("Locked"), _("Being prepared for the warehouse; it can no longer be changed.")
    if order.state in (OrderState.RELEASED, OrderState.IN_FULFILLMENT):
        return _("With the warehouse"), _("The warehouse is packing your order.")
    if order.state == OrderState.SHIPPED:
        return _("Shipped"), _("Your order is on its way.")
    if order.state == OrderState.DELIVERED:
        return _("Delivered"), _("Your order was delivered.")
    if order.state == OrderState.CANCELLED:
        return _("Cancelled"), _("This order was cancelled: nothing will be shipped.")
    # Before the lock (the survey closed first): the order waits for it.
    return _("Received"), _("Your order waits to be locked for fulfillment.")


def _order_summary(visit: Visit, order: Order) -> dict:
    """What the done page shows of a locked response: its order as it stands (lines,
    address, money and state), not a new quote from today's catalog and prices."""
    address = order.address.as_dict() if order.address_id else {}
    if address:
        address = {
            **address,
            "company_name": address["company"],
            "country_code": address["country"],
        }
    label, detail = _order_status(order)
    return {
        "order": order,
        "order_lines": [
            line
            for line in order.lines.all()
            if line.quantity and line.source != LineSource.ADDON_UNMAPPED
        ],
        "order_status": label,
        "order_status_detail": detail,
        # Merged into the order of the same person's other pledge: that order ships both.
        "order_merged": order.backer_id != visit.response.backer_id,
        "answers": _answers(visit),
        "address_lines": addresses.format_address(address) if address else [],
    }


def done(request, slug=None):
    """After review (or once locked): what the backer will receive, read-only when locked.
    Once locked, the order itself (as _order_summary shows it) when there is one."""
    visit = _visit(request, slug)
    if visit is None:
        return redirect(backer_reverse(request, "survey-home", slug=slug or ""))
    steps = steps_of(visit)
    with translation.override(visit.language):
        order = _locked_order(visit)
        summary = _order_summary(visit, order) if order is not None else _summary(visit)
        context = _context(visit, steps, SurveyStep.REVIEW, **summary)
    return _page(request, visit, "surveys/backer/done.html", context)


STEP_VIEWS = {
    SurveyStep.REWARD: _reward_step,
    SurveyStep.CHOICES: _choices_step,
    SurveyStep.ADDONS: _addons_step,
    SurveyStep.QUESTIONS: _questions_step,
    SurveyStep.ADDRESS: _address_step,
    SurveyStep.REVIEW: _review_step,
}
