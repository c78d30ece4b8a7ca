"""Re-pricing from the tax page: the open orders counted, a background run started by
the button, its progress polled and its result shown; only roles that may change tax."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from orders.models import TaxRate
from orders.services.repricing import repricing_job
from tests.conftest import member

from .conftest_invoices import make_order, tax_campaign


@pytest.fixture
def eur_campaign(organization):
    return tax_campaign(organization)


def url(campaign, name="tax-rules"):
    return reverse(name, kwargs={"slug": campaign.slug})


def test_the_tax_page_counts_the_open_orders(owner_client, eur_campaign):
    make_order(eur_campaign)
    make_order(eur_campaign, state="locked", locked_at="2026-01-01T00:00Z")
    page = owner_client.get(url(eur_campaign)).content.decode()
    assert "1 open order (survey done, not locked, not invoiced)" in page
    assert "Re-price open orders" in page


def test_the_button_re_prices_in_the_background_and_shows_the_result(
    owner_client, eur_campaign, django_capture_on_commit_callbacks
):
    order = make_order(eur_campaign, paid=False)  # 30.00 goods + 10.00 shipping at 19 %
    TaxRate.objects.create(
        campaign=eur_campaign, country="DE", rate=Decimal("21"), valid_from=date(2026, 7, 1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url(eur_campaign, "tax-reprice"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.tax_total == Money(Decimal("8.40"), "EUR")
    job = repricing_job(campaign=eur_campaign).get()
    assert (job["finished"], job["changed"], job["total"]) == (True, 1, 1)
    page = owner_client.get(url(eur_campaign)).content.decode()
    assert "1 order re-priced" in page


def test_while_re_pricing_the_box_polls(owner_client, eur_campaign):
    job = repricing_job(campaign=eur_campaign)
    job.start(10)
    job.advance(5)
    box = owner_client.get(url(eur_campaign, "tax-reprice-progress")).content.decode()
    assert 'hx-trigger="every 2s"' in box and "5 of 10 open orders" in box


def test_orders_that_cannot_be_priced_are_named_with_their_reason(owner_client, eur_campaign):
    job = repricing_job(campaign=eur_campaign)
    job.start(3)
    job.finish(
        done=3,
        changed=1,
        unchanged=1,
        no_address=0,
        failed=1,
        invoiced=0,
        locked=0,
        reasons=["1 × ships_nowhere: Japan is in no zone"],
    )
    box = owner_client.get(url(eur_campaign, "tax-reprice-progress")).content.decode()
    assert "hx-trigger" not in box
    assert "1 order could not be priced" in box and "ships_nowhere" in box


def test_support_may_look_but_not_re_price(client, organization, eur_campaign):
    order = make_order(eur_campaign, paid=False)
    priced_at = order.priced_at
    client.force_login(member(organization, Role.SUPPORT))
    assert "Re-price open orders" not in client.get(url(eur_campaign)).content.decode()
    assert client.post(url(eur_campaign, "tax-reprice")).status_code == 403
    assert repricing_job(campaign=eur_campaign).get() is None
    order.refresh_from_db()
    assert order.priced_at == priced_at


def test_another_organization_gets_404(outsider_client, eur_campaign):
    assert outsider_client.post(url(eur_campaign, "tax-reprice")).status_code == 404
    assert outsider_client.get(url(eur_campaign, "tax-reprice-progress")).status_code == 404
