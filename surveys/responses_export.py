"""Survey responses as the back office lists and downloads them: which responses
a filter keeps, each one's status, and the CSV with a column per custom question,
choice group and add-on offer.

The columns are read once per download (questions, choice groups with their
options, offers); each row then needs only its response, backer, invite and cart
lines, fetched in chunks, so a download of 250,000 responses runs in constant
memory and a fixed number of queries per chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.db.models import (
    CharField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django_countries import countries
from djmoney.money import Money

from pledges.models import ChoiceGroup

from .models import AddOnOffer, CartLine, Question, Survey, SurveyResponse

CSV_CHUNK = 2000
NO_REWARD = "none"
# Backer numbers are small; a longer run of digits is an id of the platform, and an
# int past SQLite's 64 bits would fail the query instead of matching nothing.
MAX_BACKER_NUMBER_DIGITS = 9

STARTED, COMPLETED, PAID, BALANCE_DUE = "started", "completed", "paid", "balance_due"
# filter → (label, which responses it keeps). "Completed" holds both of the last two.
STATUS_FILTERS: dict[str, tuple[str, Q]] = {
    STARTED: ("Started", Q(completed_at__isnull=True)),
    COMPLETED: ("Completed", Q(completed_at__isnull=False)),
    PAID: ("Paid", Q(completed_at__isnull=False, paid_at__isnull=False)),
    BALANCE_DUE: ("Balance due", Q(completed_at__isnull=False, paid_at__isnull=True)),
}
# What one response is now: each response has exactly one of these.
STATUS_LABELS = {
    STARTED: "Started",
    PAID: "Completed, paid",
    BALANCE_DUE: "Completed, balance due",
}


def response_status(response: SurveyResponse) -> str:
    """started (not confirmed yet, or reopened by a cart change), paid (confirmed and
    nothing left to pay) or balance_due (confirmed, payment outstanding)."""
    if response.completed_at is None:
        return STARTED
    return PAID if response.paid_at is not None else BALANCE_DUE


def balance_due(response: SurveyResponse):
    """What the backer still owes: the amount fixed at confirmation while unpaid,
    zero once paid, None while the survey is not confirmed (no amount is fixed yet)."""
    status = response_status(response)
    if status == STARTED:
        return None
    if status == PAID:
        return Money(Decimal("0.00"), response.balance_due.currency)
    return response.balance_due


# --- which responses ---------------------------------------------------------------


def survey_responses(
    *,
    survey: Survey,
    test: bool = False,
    status: str = "",
    reward: str = "",
    country: str = "",
    search: str = "",
) -> QuerySet[SurveyResponse]:
    """The survey's responses (the real ones, or with `test` the test ones only),
    narrowed by status (a key of STATUS_FILTERS), reward (a reward's pk, or "none"
    for pledges without one), ship-to country and a search over name, email and
    backer number; oldest first (keyset-paginate by pk).

    Each row carries `reward_title`, `country` (the survey address's country, else
    the one the platform reported) and `addon_units` (units in the cart)."""
    units = (
        CartLine.objects.filter(response=OuterRef("pk"))
        .order_by()
        .values("response")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    # One pledge per backer (a constraint): the join never repeats a response.
    responses = (
        SurveyResponse.objects.filter(invite__survey=survey, is_test=test)
        .select_related("backer", "invite")
        .annotate(
            reward_title=F("backer__pledges__reward__title"),
            country=Coalesce(
                NullIf("address_country", Value("")),
                F("backer__pledges__shipping_country"),
                Value(""),
                output_field=CharField(),
            ),
            addon_units=Coalesce(Subquery(units, output_field=IntegerField()), Value(0)),
        )
        .order_by("pk")
    )
    if status in STATUS_FILTERS:
        responses = responses.filter(STATUS_FILTERS[status][1])
    if reward == NO_REWARD:
        responses = responses.filter(backer__pledges__reward__isnull=True)
    elif reward:
        responses = responses.filter(backer__pledges__reward_id=reward)
    if country:
        responses = responses.filter(country=country)
    search = search.strip()
    if search:
        match = (
            Q(backer__name__icontains=search)
            | Q(backer__email__icontains=search)
            | Q(invite__email__icontains=search)
        )
        number = search.lstrip("#")
        if number.isascii() and number.isdigit() and len(number) <= MAX_BACKER_NUMBER_DIGITS:
            match |= Q(backer__backer_number=int(number))
        responses = responses.filter(match)
    return responses


def response_countries(*, survey: Survey, test: bool = False) -> list[tuple[str, str]]:
    """(code, name) of every ship-to country among the survey's responses, by name."""
    codes = (
        survey_responses(survey=survey, test=test)
        .order_by()
        .values_list("country", flat=True)
        .distinct()
    )
    return sorted(
        ((code, countries.name(code) or code) for code in codes if code), key=lambda c: c[1]
    )


# --- the CSV -----------------------------------------------------------------------


ADDRESS_COLUMNS = [
    ("Ship to name", "name"),
    ("Company", "company_name"),
    ("Street line 1", None),
    ("Street line 2", None),
    ("City", "city"),
    ("District", "city_area"),
    ("State / area", "country_area"),
    ("Postal code", "postal_code"),
    ("Sorting code", "sorting_code"),
    ("Country code", "country_code"),
    ("Country", None),
    ("Phone", "phone"),
]


@dataclass(frozen=True)
class ResponseColumns:
    """The campaign's questions, choice groups and offers, in page order: one CSV
    column each. `options` names every choice option by its id."""

    questions: list[Question]
    groups: list[ChoiceGroup]
    offers: list[AddOnOffer]
    options: dict[int, str]
    currency: str

    def header(self) -> list[str]:
        money = f"({self.currency})"
        return _distinct(
            [
                "Backer number",
                "Platform backer id",
                "Name",
                "Email",
                "Reward",
                "Status",
                "Language",
                "Completed at (UTC)",
                "Paid at (UTC)",
                *(q.label for q in self.questions),
                *_group_titles(self.groups),
                *(offer.name for offer in self.offers),
                *(label for label, _key in ADDRESS_COLUMNS),
                "VAT number",
                f"Credit {money}",
                f"Add-ons total {money}",
                f"Balance due {money}",
            ]
        )

    def row(self, response: SurveyResponse) -> list:
        backer = response.backer
        units = {line.offer_id: line.quantity for line in response.cart.all()}
        due = balance_due(response)
        completed = response.completed_at is not None
        return [
            backer.backer_number or "",
            backer.platform_backer_id,
            backer.name,
            response.invite.email,
            response.reward_title or "",
            STATUS_LABELS[response_status(response)],
            response.language,
            _utc(response.completed_at),
            _utc(response.paid_at),
            *(answer_text(response.answers.get(str(q.pk))) for q in self.questions),
            *(self._picked(response.choices.get(str(g.pk))) for g in self.groups),
            *(units.get(offer.pk, "") for offer in self.offers),
            *_address_cells(response.address or {}),
            response.vat_number,
            # Money is fixed when the backer confirms the review; blank before.
            response.credit.amount if completed else "",
            response.addons_total.amount if completed else "",
            due.amount if due is not None else "",
        ]

    def _picked(self, option_ids) -> str:
        if not option_ids:
            return ""
        return "; ".join(self.options.get(int(pk), str(pk)) for pk in option_ids)


def response_columns(*, survey: Survey) -> ResponseColumns:
    """Read the columns of the survey's CSV (four queries)."""
    campaign = survey.campaign
    groups = sorted(
        ChoiceGroup.objects.filter(campaign_id=campaign.pk)
        .select_related("reward", "addon_offer")
        .prefetch_related("options"),
        key=_group_order,
    )
    return ResponseColumns(
        questions=list(survey.questions.order_by("position", "pk")),
        groups=groups,
        offers=list(AddOnOffer.objects.filter(campaign_id=campaign.pk).order_by("position", "pk")),
        options={option.pk: option.label for group in groups for option in group.options.all()},
        currency=campaign.currency,
    )


def response_rows(*, survey: Survey, responses: QuerySet[SurveyResponse]) -> Iterator[list]:
    """The CSV's header, then one row per response (pass survey_responses(...));
    cart lines come with each chunk of CSV_CHUNK responses."""
    columns = response_columns(survey=survey)
    yield columns.header()
    rows = responses.prefetch_related("cart").iterator(chunk_size=CSV_CHUNK)
    for response in rows:
        yield columns.row(response)


def answer_text(value) -> str:
    """A stored answer as text: lists joined with "; ", a checkbox as Yes/No."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _group_order(group: ChoiceGroup) -> tuple:
    """The reward's groups first (cheapest reward first), then the add-ons'."""
    if group.reward_id:
        return (0, group.reward.minimum.amount, group.reward_id, group.position, group.pk)
    offer = group.addon_offer
    return (1, offer.position, offer.pk, group.position, group.pk)


def _group_titles(groups: list[ChoiceGroup]) -> list[str]:
    """Each group's name; a name several groups share ("Colour" of two rewards)
    says whose it is: "Colour (Core box)"."""
    repeated = {name for name, n in Counter(g.name for g in groups).items() if n > 1}
    return [
        f"{g.name} ({g.reward.title if g.reward_id else g.addon_offer.name})"
        if g.name in repeated
        else g.name
        for g in groups
    ]


def _distinct(headers: list[str]) -> list[str]:
    """Headers made unique (a question may be called "Email" too): a repeated one
    gets " (2)", " (3)"… so tools that key columns by header keep them apart."""
    seen: Counter[str] = Counter()
    result = []
    for header in headers:
        seen[header] += 1
        result.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return result


def _address_cells(address: dict) -> list[str]:
    street = [line for line in str(address.get("street_address") or "").splitlines() if line]
    code = str(address.get("country_code") or "")
    computed = {
        "Street line 1": street[0] if street else "",
        "Street line 2": ", ".join(street[1:]),
        "Country": (countries.name(code) or code) if code else "",
    }
    return [
        computed[label] if key is None else str(address.get(key) or "")
        for label, key in ADDRESS_COLUMNS
    ]


def _utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""
