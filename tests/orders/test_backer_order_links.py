"""The survey's done page leads to payment when a balance is due and lists the
backer's own invoices for download (never another backer's)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from orders.models import Invoice
from surveys.services.responses import open_invite, update_cart
from tests.factories import OrderFactory
from tests.surveys.backer_setup import build_world, open_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def _done(client, w):
    return client.get(reverse("survey-done", kwargs={"slug": w.campaign.slug})).content.decode()


def _completed(w, invite, *, due="0"):
    response = open_invite(invite=invite)
    response.completed_at = timezone.now()
    response.balance_due = Money(Decimal(due), "USD")
    response.save()
    return response


def _invoice(w, response, number):
    order = OrderFactory(backer=response.backer, campaign=w.campaign, response=response)
    return Invoice.objects.create(
        campaign=w.campaign,
        order=order,
        number=number,
        issued_at=timezone.now(),
        total=Money("20.00", "USD"),
    )


def test_a_balance_due_offers_to_pay_now(client, w):
    response = open_invite(invite=w.bob)
    update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 1})  # 15.00, no credit
    _completed(w, w.bob, due="15.00")
    open_survey(client, w.bob)
    page = _done(client, w)
    assert "Pay now" in page
    assert reverse("survey-pay", kwargs={"slug": w.campaign.slug}) in page


def test_nothing_due_shows_no_pay_button(client, w):
    _completed(w, w.bob)
    open_survey(client, w.bob)
    assert "Pay now" not in _done(client, w)


def test_the_backer_sees_only_their_own_invoices(client, w):
    mine = _invoice(w, _completed(w, w.bob), 7)
    _invoice(w, _completed(w, w.alice), 8)
    open_survey(client, w.bob)
    page = _done(client, w)
    assert f"Invoice {mine.number} (PDF)" in page
    assert reverse("survey-invoice-pdf", kwargs={"slug": w.campaign.slug, "number": 7}) in page
    assert "Invoice 8" not in page
