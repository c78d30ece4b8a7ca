"""Once a backer's order is locked, the survey's done page shows that order, read-only:
its lines, address and money as the order has them (not a new quote from today's
catalog and prices) and its state in the backer's words. An open survey's done page
stays the quote it always was."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from inventory import bom
from orders.models import Order, OrderAddress, OrderState
from orders.services.building import build_order
from orders.services.invoices import issue_invoice
from surveys.models import SurveyResponse
from tests.factories import OrderFactory, OrderLineFactory, SkuFactory, SurveyInviteFactory

from .backer_setup import GERMAN_ADDRESS, build_world, open_survey, step_path


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def done_path(campaign) -> str:
    return reverse("survey-done", kwargs={"slug": campaign.slug})


def complete(client, w, invite):
    """The backer goes through the survey: blue dice, 2 playmats and 1 coin set
    (Alice: 31 credit, 50 of add-ons, 19 due)."""
    open_survey(client, invite)
    client.post(step_path(w.campaign, "reward"))
    client.post(step_path(w.campaign, "choices"), {f"group_{w.group.pk}": str(w.opt_blue.pk)})
    client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "2", f"offer_{w.coin.pk}": "1"}
    )
    client.post(step_path(w.campaign, "questions"), {f"q_{w.question.pk}": "Alice"})
    client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert client.post(step_path(w.campaign, "review")).status_code == 302
    return SurveyResponse.objects.get(invite=invite)


def lock(order: Order, *, state: str = OrderState.LOCKED) -> None:
    """What the lock does (orders.services.locking), then the order's later state."""
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(state=state, locked_at=now)
    SurveyResponse.objects.filter(pk=order.response_id).update(locked_at=now)


def locked_order(client, w, **money) -> Order:
    response = complete(client, w, w.alice)
    order = build_order(response=response)
    if money:
        Order.objects.filter(pk=order.pk).update(**money)
    lock(order)
    return order


def test_locked_page_shows_the_orders_money_after_prices_changed(client, w):
    locked_order(
        client,
        w,
        paid_total=Money("11.00", "USD"),
        balance_due=Money("8.00", "USD"),
    )
    # After the lock the creator raises the playmat's price: a new quote would ask 39.
    w.mat.price = Money("25.00", "USD")
    w.mat.save()
    bom.catalog_changed(campaign=w.campaign)
    page = client.get(done_path(w.campaign)).content.decode()
    assert "Payment for order" in page
    assert "$8.00" in page and "$11.00" in page
    assert "$39.00" not in page and "$19.00" not in page


def test_locked_page_shows_the_orders_lines_not_todays_catalog(client, w):
    order = locked_order(client, w)
    # After the lock the reward gains an item and the blue dice are renamed.
    w.reward.items.create(sku=SkuFactory(organization=w.campaign.organization, name="Promo card"))
    w.blue.name = "Navy dice"
    w.blue.save()
    bom.catalog_changed(campaign=w.campaign)
    page = client.get(done_path(w.campaign)).content.decode()
    assert order.lines.filter(description="Blue dice").exists()
    assert "Blue dice" in page and "2 × Playmat" in page
    assert "Promo card" not in page and "Navy dice" not in page


def test_locked_page_shows_the_orders_address(client, w):
    order = locked_order(client, w)
    # Staff corrected the street on the order after the lock; the response keeps the old one.
    OrderAddress.objects.filter(pk=order.address_id).update(street_address="Chausseestraße 1")
    page = client.get(done_path(w.campaign)).content.decode()
    assert "Chausseestraße 1" in page and "Invalidenstraße" not in page


def test_locked_order_says_it_is_being_prepared_for_the_warehouse(client, w):
    locked_order(client, w)
    page = client.get(done_path(w.campaign)).content.decode()
    assert "<strong>Locked</strong>: Being prepared for the warehouse" in page
    assert "Change:" not in page


def test_shipped_order_says_shipped(client, w):
    order = locked_order(client, w)
    Order.objects.filter(pk=order.pk).update(state=OrderState.SHIPPED)
    page = client.get(done_path(w.campaign)).content.decode()
    assert "<strong>Shipped</strong>: Your order is on its way." in page
    assert "Being prepared" not in page


def test_order_with_the_warehouse_says_so(client, w):
    order = locked_order(client, w)
    Order.objects.filter(pk=order.pk).update(state=OrderState.IN_FULFILLMENT)
    page = client.get(done_path(w.campaign)).content.decode()
    assert "<strong>With the warehouse</strong>" in page


def test_locked_order_with_a_balance_offers_to_pay_it(client, w):
    locked_order(client, w, balance_due=Money("8.00", "USD"))
    page = client.get(done_path(w.campaign)).content.decode()
    assert (
        "Balance due: $8.00." in page
        and reverse("survey-pay", kwargs={"slug": w.campaign.slug}) in page
    )


def test_cancelled_order_asks_for_no_payment(client, w):
    order = locked_order(client, w, balance_due=Money("8.00", "USD"))
    Order.objects.filter(pk=order.pk).update(state=OrderState.CANCELLED)
    page = client.get(done_path(w.campaign)).content.decode()
    assert "<strong>Cancelled</strong>" in page and "Pay now" not in page


def test_merged_order_shows_the_order_it_was_merged_into(client, w):
    order = locked_order(client, w)
    kept = build_order(response=complete(client.__class__(), w, w.bob))
    OrderLineFactory(order=kept, description="Bob's extra mat", quantity=3)
    Order.objects.filter(pk=order.pk).update(merged_into=kept, state=OrderState.CANCELLED)
    lock(kept)
    page = client.get(done_path(w.campaign)).content.decode()
    assert "3 × Bob&#x27;s extra mat" in page
    assert "combined" in page and "<strong>Locked</strong>" in page


def test_locked_page_is_in_german_for_a_german_backer(client, w):
    locked_order(client, w)
    SurveyResponse.objects.filter(invite=w.alice).update(language="de")
    w.survey.languages = ["en", "de"]
    w.survey.save()
    page = client.get(done_path(w.campaign)).content.decode()
    assert "Wird für das Lager vorbereitet" in page and "Zahlung für Bestellung" in page


def test_test_response_never_shows_the_backers_real_order(client, w):
    order = locked_order(client, w)
    OrderLineFactory(order=order, description="Only in the real order", quantity=1)
    tester = SurveyInviteFactory(survey=w.survey, backer=w.alice.backer, is_test=True)
    w.survey.status = "closed"  # the test response is read-only too
    w.survey.save()
    test_client = client.__class__()
    open_survey(test_client, tester)
    page = test_client.get(done_path(w.campaign)).content.decode()
    assert "Only in the real order" not in page
    assert "Payment for order" not in page and "Being prepared" not in page


def test_locked_response_without_an_order_keeps_the_locked_notice(client, w):
    complete(client, w, w.alice)
    SurveyResponse.objects.filter(invite=w.alice).update(locked_at=timezone.now())
    page = client.get(done_path(w.campaign)).content.decode()
    assert "<strong>Locked</strong>: your order is locked for fulfillment" in page


def test_open_done_page_still_shows_the_quote_not_the_order(client, w):
    response = complete(client, w, w.alice)
    order = build_order(response=response)
    Order.objects.filter(pk=order.pk).update(balance_due=Money("8.00", "USD"))
    page = client.get(done_path(w.campaign)).content.decode()
    assert "<strong>Complete</strong>" in page and "Change:" in page
    assert "$19.00" in page and "$8.00" not in page
    assert "Payment for order" not in page
    assert response.balance_due.amount == Decimal("19.00")


@pytest.mark.parametrize("extra_lines", [1, 15])
def test_locked_page_queries_do_not_grow_with_the_lines(
    client, w, django_assert_max_num_queries, extra_lines
):
    order = locked_order(client, w)
    for i in range(extra_lines):
        OrderLineFactory(order=order, description=f"Extra {i}", quantity=1)
    client.get(done_path(w.campaign))  # the catalog into the cache
    # session, response, cart, pledge, the order with its address, its lines, invoices
    with django_assert_max_num_queries(7):
        page = client.get(done_path(w.campaign))
    assert f"Extra {extra_lines - 1}" in page.content.decode()


def test_done_page_links_the_invoice_of_the_order_the_backers_one_was_merged_into(client, w):
    order = locked_order(client, w)
    kept = OrderFactory(campaign=w.campaign, state=OrderState.LOCKED, number=order.number + 100)
    Order.objects.filter(pk=order.pk).update(merged_into=kept, state=OrderState.CANCELLED)
    invoice = issue_invoice(order=kept)
    page = client.get(done_path(w.campaign)).content.decode()
    link = reverse("survey-invoice-pdf", kwargs={"slug": w.campaign.slug, "number": invoice.number})
    assert link in page
    assert client.get(link).status_code == 200
