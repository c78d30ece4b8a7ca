"""Back-office pages of survey answers: every response (filtered, a page at a time,
or all of them as CSV) and one backer's survey, with the support actions: email
the backer their link again, or make a fresh link to paste into a reply."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from djmoney.money import Money

from accounts.permissions import role_can
from config.paging import after_param, query_with
from inventory import bom
from pledges.exports import csv_response
from pledges.models import Backer
from pledges.selectors import campaign_for

from . import address as addresses
from . import responses_export as export
from .links import magic_link
from .models import SurveyInvite, SurveyResponse, SurveyStatus, SurveyStep
from .navigation import survey_context
from .services import invites as invite_services
from .services import responses as services

VIEW, SEND = "surveys.view", "surveys.send"
PER_PAGE = 50


# --- filters -----------------------------------------------------------------------


class ResponseFilterForm(forms.Form):
    """The list's filters, also applied to its CSV. Invalid values are ignored
    (the valid ones still apply) and the page says so."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Name, email or backer number"}),
    )
    status = forms.ChoiceField(label="Status", required=False)
    reward = forms.ChoiceField(label="Reward", required=False)
    country = forms.ChoiceField(label="Country", required=False)
    test = forms.BooleanField(label="Test responses only", required=False)

    def __init__(self, data, *, survey, **kwargs):
        super().__init__(data, **kwargs)
        test = bool(self["test"].value())
        self.fields["status"].choices = [
            ("", "Any status"),
            *((key, label) for key, (label, _q) in export.STATUS_FILTERS.items()),
        ]
        rewards = survey.campaign.rewards.order_by("minimum", "title", "pk")
        self.fields["reward"].choices = [
            ("", "All rewards"),
            *((str(reward.pk), reward.title) for reward in rewards),
            (export.NO_REWARD, "No reward"),
        ]
        self.fields["country"].choices = [
            ("", "All countries"),
            *export.response_countries(survey=survey, test=test),
        ]

    def filters(self) -> dict:
        """The valid filters as survey_responses() takes them."""
        if not self.is_bound:
            return {"search": "", "status": "", "reward": "", "country": "", "test": False}
        self.is_valid()
        data = self.cleaned_data
        return {
            "search": data.get("q") or "",
            "status": data.get("status") or "",
            "reward": data.get("reward") or "",
            "country": data.get("country") or "",
            "test": bool(data.get("test")),
        }


def _survey(request, slug, action):
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    survey = services.survey_for(campaign)
    survey.campaign = campaign  # already loaded with its organization
    return campaign, role, survey


# --- all responses -------------------------------------------------------------------


@login_required
def response_list(request, slug):
    """Responses a page at a time (keyset: ?after=<response pk>), filtered."""
    campaign, role, survey = _survey(request, slug, VIEW)
    form = ResponseFilterForm(request.GET or None, survey=survey)
    filters = form.filters()
    responses = export.survey_responses(survey=survey, **filters)
    after = after_param(request)
    if after:
        responses = responses.filter(pk__gt=after)
    # One row more than shown tells whether there is a next page, without a count.
    page = list(responses[: PER_PAGE + 1])
    has_next = len(page) > PER_PAGE
    page = page[:PER_PAGE]
    for response in page:
        response.status = export.response_status(response)
        response.status_label = export.STATUS_LABELS[response.status]
        response.due = export.balance_due(response)
    context = survey_context(campaign, role, "survey-responses", survey=survey)
    context.update(
        form=form,
        filters_ignored=form.is_bound and not form.is_valid(),
        filtered=any(value for value in filters.values()),
        responses=page,
        next_query=query_with(request, after=str(page[-1].pk)) if has_next else None,
        first_query=query_with(request, after=None) if after else None,
        csv_query=query_with(request, after=None),
        paged=bool(after),
    )
    return render(request, "surveys/responses/list.html", context)


@login_required
def response_csv(request, slug):
    """Every response the filters keep, as CSV (streamed, formula-safe)."""
    campaign, _role, survey = _survey(request, slug, VIEW)
    filters = ResponseFilterForm(request.GET or None, survey=survey).filters()
    responses = export.survey_responses(survey=survey, **filters)
    suffix = "-test" if filters["test"] else ""
    return csv_response(
        export.response_rows(survey=survey, responses=responses),
        filename=f"{campaign.slug}-survey-responses{suffix}.csv",
    )


# --- one backer's survey ---------------------------------------------------------------


def _backer(campaign, backer_id) -> Backer:
    return get_object_or_404(Backer, pk=backer_id, campaign=campaign)


def _invite(survey, backer) -> SurveyInvite | None:
    """The backer's (real) invite, with its response when there is one."""
    invite = (
        SurveyInvite.objects.filter(survey=survey, backer=backer, is_test=False)
        .select_related("response")
        .first()
    )
    if invite is not None:
        invite.survey = survey
        invite.backer = backer
    return invite


def _response_of(invite: SurveyInvite | None) -> SurveyResponse | None:
    if invite is None:
        return None
    try:
        return invite.response
    except SurveyResponse.DoesNotExist:
        return None


def _bom_rows(*, response, backer, pledge, catalog) -> tuple[list[dict], str]:
    """The lines this backer ships (their choices and cart; the reward alone before
    they open the survey) and, when the stored picks no longer fit the catalog,
    why they were left out."""
    problem = ""
    subject = response or SurveyResponse(backer=backer)
    cart = None if response is not None else []
    try:
        lines = services.bom_of(response=subject, pledge=pledge, catalog=catalog, cart=cart)
    except bom.BomError as exc:
        problem = exc.message
        lines = services.bom_of(
            response=subject, pledge=pledge, catalog=catalog, choices={}, cart=cart
        )
    return [
        {"line": line, "source_label": bom.SOURCE_LABELS[line.source]} for line in lines
    ], problem


def _choices(response: SurveyResponse, catalog: bom.Catalog) -> list[tuple[str, list[str]]]:
    rows = []
    for group_id, option_ids in response.choices.items():
        group = catalog.groups.get(int(group_id))
        if group is None:
            continue  # a group deleted since: nothing of it ships
        labels = {option.id: option.label for option in group.options}
        rows.append((group.name, [labels.get(int(o), f"option {o} (deleted)") for o in option_ids]))
    return rows


def _answers(response: SurveyResponse, survey, pledge) -> list[tuple[str, str]]:
    """Label → answer for each question of the backer's tier, and for any other
    question they answered (a tier change since)."""
    reward_id = pledge.reward_id if pledge is not None else None
    shown = services.questions_for(survey=survey, reward_id=reward_id)
    shown_ids = {q.pk for q in shown}
    others = [
        q for q in survey.questions.all() if q.pk not in shown_ids and str(q.pk) in response.answers
    ]
    return [
        (q.label, export.answer_text(response.answers.get(str(q.pk)))) for q in [*shown, *others]
    ]


def _money_rows(quote) -> list[tuple[str, Money, str]]:
    """(label, amount, how it counts) of the quote, as the backer's review shows it."""
    rows = [
        ("Pledged on the platform", quote.pledge_amount, ""),
        ("Reward", quote.reward_minimum, "−"),
        ("Shipping paid on the platform", quote.shipping_paid, "−"),
    ]
    if quote.platform_addons:
        rows.append(("Add-ons bought on the platform", quote.platform_addons, "−"))
    if quote.kept_bonus:
        rows.append(("Bonus support (kept as a gift)", quote.kept_bonus, "−"))
    rows.append(("Credit", quote.credit, "="))
    if quote.reward_due:
        rows.append(("Late pledge reward", quote.reward_due, "+"))
    rows += [
        ("Add-ons in the survey", quote.addons_total, "+"),
        ("Shipping", quote.shipping, "+"),
        ("Tax", quote.tax, "+"),
        ("Credit used", quote.credit_applied, "−"),
        ("Balance due", quote.balance_due, "="),
    ]
    if quote.credit_left:
        rows.append(("Credit left", quote.credit_left, ""))
    return [(label, quote.money(amount), sign) for label, amount, sign in rows]


def _detail(request, campaign, role, survey, backer, *, survey_link: str = ""):
    invite = _invite(survey, backer)
    response = _response_of(invite)
    pledge = backer.pledges.select_related("reward").first()
    context = survey_context(campaign, role, "survey-responses", survey=survey)
    context.update(
        backer=backer,
        pledge=pledge,
        invite=invite,
        response=response,
        can_send=role_can(role, SEND),
        survey_link=survey_link,
        is_closed=survey.status == SurveyStatus.CLOSED,
    )
    if pledge is not None:
        catalog = bom.load_catalog(campaign=campaign.pk)
        rows, problem = _bom_rows(response=response, backer=backer, pledge=pledge, catalog=catalog)
        context.update(bom_rows=rows, bom_problem=problem)
        if response is not None:
            steps = services.steps_for(
                response=response, survey=survey, pledge=pledge, catalog=catalog
            )
            quote = services.quote_for(
                response=response, survey=survey, pledge=pledge, catalog=catalog
            )
            context.update(
                steps=[(SurveyStep(s).label, s in response.steps_done) for s in steps],
                choices=_choices(response, catalog),
                quote=quote,
                cart=[
                    (
                        line.name,
                        line.quantity,
                        quote.money(line.unit_price),
                        quote.money(line.total),
                    )
                    for line in quote.lines
                ],
                money_rows=_money_rows(quote),
            )
    if response is not None:
        status = export.response_status(response)
        context.update(
            status=status,
            status_label=export.STATUS_LABELS[status],
            due=export.balance_due(response),
            locked=services.is_locked(response, survey=survey),
            answers=_answers(response, survey, pledge),
            address_lines=addresses.format_address(response.address) if response.address else [],
        )
    return render(request, "surveys/responses/detail.html", context)


@login_required
def response_detail(request, slug, backer_id):
    """One backer's survey: invite, progress, what ships, answers, address, money."""
    campaign, role, survey = _survey(request, slug, VIEW)
    return _detail(request, campaign, role, survey, _backer(campaign, backer_id))


@login_required
@require_POST
def response_resend(request, slug, backer_id):
    """Email the backer their survey link again (the "I lost my link" email)."""
    campaign, _role, survey = _survey(request, slug, SEND)
    backer = _backer(campaign, backer_id)
    invite = _invite(survey, backer)
    if invite is None:
        messages.error(request, "This backer has no survey invite: there is no link to send.")
    elif not backer.email_normalized:
        messages.error(request, "This backer has no email address on record.")
    else:
        invite_services.resend_link(survey=survey, email=backer.email_normalized)
        messages.success(
            request,
            f"The survey link was emailed again to {invite.email} (at most "
            f"{invite_services.LOST_LINK_LIMIT} such emails per address and hour go out).",
        )
    return redirect("survey-response", campaign.slug, backer.pk)


@login_required
@require_POST
def response_link(request, slug, backer_id):
    """A fresh magic link for support to paste into a reply (shown, not sent)."""
    campaign, role, survey = _survey(request, slug, SEND)
    backer = _backer(campaign, backer_id)
    invite = _invite(survey, backer)
    if invite is None:
        messages.error(request, "This backer has no survey invite: there is no link to make.")
        return redirect(reverse("survey-response", args=[campaign.slug, backer.pk]))
    return _detail(request, campaign, role, survey, backer, survey_link=magic_link(invite))
