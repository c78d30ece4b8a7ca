"""Invoice pages and PDF downloads: the team with `payments.view`, the backer for
their own order only; everyone else a 404 (or a 403 for a role without the right)."""

import pytest
from django.urls import reverse

from accounts.models import Role
from orders.models import Payment, Refund
from orders.selectors import backer_invoices_for
from orders.services.invoices import issue_credit_note, issue_invoice
from surveys.backer_views import SESSION_KEY
from surveys.models import SurveyResponse
from tests.conftest import member
from tests.factories import SurveyFactory, SurveyInviteFactory

from .conftest_invoices import make_order, tax_campaign


def pdf_url(campaign, number):
    return reverse("invoice-pdf", kwargs={"slug": campaign.slug, "number": number})


def list_url(campaign):
    return reverse("invoice-list", kwargs={"slug": campaign.slug})


def backer_url(campaign, number):
    return reverse("survey-invoice-pdf", kwargs={"slug": campaign.slug, "number": number})


@pytest.fixture
def invoice(eur_campaign):
    return issue_invoice(order=make_order(eur_campaign))


def backer_order(campaign, survey):
    """A paid order whose response belongs to an invite (a backer of the survey)."""
    order = make_order(campaign)
    invite = SurveyInviteFactory(survey=survey, backer=order.backer, email=order.email)
    order.response = SurveyResponse.objects.create(invite=invite, backer=order.backer)
    order.save(update_fields=["response"])
    return order, invite


def as_backer(client, campaign, invite):
    session = client.session
    session[SESSION_KEY] = {str(campaign.pk): invite.pk}
    session.save()


@pytest.fixture
def eur_campaign(organization):
    return tax_campaign(organization)


# --- back office -------------------------------------------------------------------------


def test_owner_downloads_the_invoice_pdf(owner_client, invoice):
    response = owner_client.get(pdf_url(invoice.campaign, invoice.number))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_unknown_invoice_number_is_404(owner_client, invoice):
    response = owner_client.get(pdf_url(invoice.campaign, invoice.number + 1))

    assert response.status_code == 404


def test_other_organization_gets_404_for_the_pdf(outsider_client, invoice):
    response = outsider_client.get(pdf_url(invoice.campaign, invoice.number))

    assert response.status_code == 404


def test_other_organization_gets_404_for_the_list(outsider_client, invoice):
    response = outsider_client.get(list_url(invoice.campaign))

    assert response.status_code == 404


def test_role_without_payments_view_gets_403(client, organization, invoice):
    client.force_login(member(organization, Role.WAREHOUSE))

    response = client.get(pdf_url(invoice.campaign, invoice.number))

    assert response.status_code == 403


def test_list_shows_invoices_and_credit_notes(owner_client, eur_campaign):
    order = make_order(eur_campaign)
    invoice = issue_invoice(order=order)
    payment = Payment.objects.create(
        order=order, gateway="test", idempotency_key="p", amount=order.total, status="succeeded"
    )
    refund = Refund.objects.create(
        payment=payment, idempotency_key="r", amount=order.total, status="succeeded"
    )
    issue_credit_note(refund=refund)

    page = owner_client.get(list_url(eur_campaign)).content.decode()

    assert pdf_url(eur_campaign, invoice.number) in page
    assert pdf_url(eur_campaign, invoice.number + 1) in page
    assert "Credit note" in page


def test_list_filters_by_kind(owner_client, eur_campaign):
    invoice = issue_invoice(order=make_order(eur_campaign))

    page = owner_client.get(list_url(eur_campaign), {"kind": "credit_note"}).content.decode()

    assert pdf_url(eur_campaign, invoice.number) not in page


def test_list_pages_by_number(owner_client, eur_campaign, monkeypatch):
    monkeypatch.setattr("orders.invoice_views.PAGE_SIZE", 2)
    numbers = [issue_invoice(order=make_order(eur_campaign)).number for _ in range(3)]

    first = owner_client.get(list_url(eur_campaign)).content.decode()
    second = owner_client.get(list_url(eur_campaign), {"after": numbers[1]}).content.decode()

    assert f"after={numbers[1]}" in first
    assert pdf_url(eur_campaign, numbers[2]) not in first
    assert pdf_url(eur_campaign, numbers[2]) in second
    assert pdf_url(eur_campaign, numbers[0]) not in second


def test_list_runs_a_constant_number_of_queries(
    owner_client, eur_campaign, django_assert_max_num_queries
):
    for _ in range(3):
        issue_invoice(order=make_order(eur_campaign))

    with django_assert_max_num_queries(8):
        response = owner_client.get(list_url(eur_campaign))

    assert response.status_code == 200


# --- the backer --------------------------------------------------------------------------


def test_backer_downloads_their_own_invoice(client, eur_campaign):
    survey = SurveyFactory(campaign=eur_campaign)
    order, invite = backer_order(eur_campaign, survey)
    invoice = issue_invoice(order=order)
    as_backer(client, eur_campaign, invite)

    response = client.get(backer_url(eur_campaign, invoice.number))

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_backer_gets_404_for_another_backers_invoice(client, eur_campaign):
    survey = SurveyFactory(campaign=eur_campaign)
    _mine, invite = backer_order(eur_campaign, survey)
    theirs, _other_invite = backer_order(eur_campaign, survey)
    invoice = issue_invoice(order=theirs)
    as_backer(client, eur_campaign, invite)

    response = client.get(backer_url(eur_campaign, invoice.number))

    assert response.status_code == 404


def test_without_a_survey_session_the_invoice_is_404(client, eur_campaign):
    survey = SurveyFactory(campaign=eur_campaign)
    order, _invite = backer_order(eur_campaign, survey)
    invoice = issue_invoice(order=order)

    response = client.get(backer_url(eur_campaign, invoice.number))

    assert response.status_code == 404


def test_a_backer_whose_order_was_merged_sees_and_downloads_the_kept_orders_invoice(
    client, eur_campaign
):
    """The same person pledged twice; the creator merged the second order into the first
    and invoiced that one. The second pledge's survey lists that invoice too."""
    survey = SurveyFactory(campaign=eur_campaign)
    kept, _kept_invite = backer_order(eur_campaign, survey)
    merged, merged_invite = backer_order(eur_campaign, survey)
    merged.merged_into = kept
    merged.save(update_fields=["merged_into"])
    invoice = issue_invoice(order=kept)
    stranger, stranger_invite = backer_order(eur_campaign, survey)
    as_backer(client, eur_campaign, merged_invite)

    assert list(backer_invoices_for(response=merged.response)) == [invoice]
    response = client.get(backer_url(eur_campaign, invoice.number))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")

    # The other side: a backer whose order has nothing to do with the kept one.
    assert list(backer_invoices_for(response=stranger.response)) == []
    as_backer(client, eur_campaign, stranger_invite)
    assert client.get(backer_url(eur_campaign, invoice.number)).status_code == 404
