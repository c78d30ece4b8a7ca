"""The backer's payment pages in the survey: the balance, the test gateway's page
(clearly labelled, Pay / Decline, Stripe's decline card), the landing after it, and
the wall between two backers."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from orders.models import Gateway, Order, Payment, PaymentKind, PaymentStatus
from surveys.models import SurveyResponse
from tests.surveys.backer_setup import build_world, open_survey

from .conftest_payments import order_due, use_gateway

TEST_LABEL = "Test payment — no real money moves"


@pytest.fixture(autouse=True)
def _test_gateway_allowed(settings):
    settings.PLEDGEPORT_TEST_GATEWAY = True


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def completed(invite):
    response = SurveyResponse.objects.get(invite=invite)
    response.completed_at = timezone.now()
    response.save(update_fields=["completed_at"])
    return response


@pytest.fixture
def alice(client, w):
    """Alice's session, her survey complete, her order with 30.00 due."""
    open_survey(client, w.alice)
    return order_due(backer=w.alice.backer, response=completed(w.alice))


def pay_url(w, name="survey-pay", **kwargs):
    return reverse(name, kwargs={"slug": w.campaign.slug, **kwargs})


def start(client, w) -> str:
    """Press Pay on the pay page; the path of the test gateway's page it leads to."""
    response = client.post(pay_url(w), {"action": "pay"})
    assert response.status_code == 302
    return urlsplit(response["Location"]).path


def test_pay_page_shows_the_balance_due(client, w, alice):
    response = client.get(pay_url(w))
    assert response.status_code == 200
    assert "$30.00" in response.content.decode()


def test_pay_page_says_the_test_gateway_moves_no_money(client, w, alice):
    assert TEST_LABEL in client.get(pay_url(w)).content.decode()


def test_pay_leads_to_the_test_gateways_own_page(client, w, alice):
    path = start(client, w)
    payment = Payment.objects.get(order=alice)
    assert path == pay_url(w, "survey-pay-test", session_id=payment.intent_id)
    page = client.get(path).content.decode()
    assert TEST_LABEL in page
    assert 'name="card_number"' in page


def test_paying_on_the_test_page_pays_the_order(client, w, alice):
    path = start(client, w)
    response = client.post(path, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.balance_due == Money("0.00", "USD")
    landing = client.get(response["Location"]).content.decode()
    assert "Payment received" in landing


def test_stripe_decline_card_is_declined_on_the_test_page(client, w, alice):
    path = start(client, w)
    response = client.post(path, {"action": "pay", "card_number": "4000 0000 0000 0002"})
    payment = Payment.objects.get(order=alice)
    assert payment.status == PaymentStatus.FAILED
    assert "Payment declined" in client.get(response["Location"]).content.decode()


def test_decline_button_declines(client, w, alice):
    path = start(client, w)
    client.post(path, {"action": "decline"})
    assert Payment.objects.get(order=alice).status == PaymentStatus.FAILED


def test_after_a_decline_pay_starts_a_new_attempt(client, w, alice):
    client.post(start(client, w), {"action": "decline"})
    start(client, w)
    assert Payment.objects.filter(order=alice).count() == 2


def test_pressing_pay_twice_makes_one_payment(client, w, alice):
    start(client, w)
    start(client, w)
    assert Payment.objects.filter(order=alice).count() == 1


def test_card_number_must_look_like_one(client, w, alice):
    path = start(client, w)
    response = client.post(path, {"action": "pay", "card_number": "12"})
    assert response.status_code == 400
    assert Payment.objects.get(order=alice).status == PaymentStatus.PENDING


def test_cancelled_checkout_lands_on_cancelled(client, w, alice):
    start(client, w)
    response = client.get(pay_url(w, "survey-pay-return") + "?outcome=cancel")
    assert "Payment cancelled" in response.content.decode()


def test_paid_order_has_nothing_to_pay(client, w, alice):
    alice.credit_applied = alice.total
    alice.save()
    response = client.get(pay_url(w))
    assert "Nothing to pay" in response.content.decode()
    assert client.post(pay_url(w), {"action": "pay"}).status_code == 400


def test_backer_cannot_open_another_backers_test_page(client, w, alice):
    path = start(client, w)
    client.cookies.clear()
    open_survey(client, w.bob)
    assert client.get(path).status_code == 404
    assert (
        client.post(path, {"action": "pay", "card_number": "4242424242424242"}).status_code == 404
    )
    assert Payment.objects.get(order=alice).status == PaymentStatus.PENDING


def test_backers_pay_page_shows_only_their_own_order(client, w, alice):
    bob_order = order_due(backer=w.bob.backer, total="100.00", credit="1.00")
    client.cookies.clear()
    open_survey(client, w.bob)
    completed(w.bob)
    page = client.get(pay_url(w)).content.decode()
    assert f"Order {bob_order.number}" in page
    assert "$99.00" in page
    client.post(pay_url(w), {"action": "pay"})
    assert not Payment.objects.filter(order=alice).exists()


def test_pay_page_without_a_session_goes_to_the_survey_home(client, w):
    response = client.get(pay_url(w))
    assert response.status_code == 302
    assert response["Location"] == reverse("survey-home", kwargs={"slug": w.campaign.slug})


def test_unfinished_survey_has_no_order_to_pay(client, w):
    open_survey(client, w.alice)
    response = client.get(pay_url(w))
    assert "Finish" in response.content.decode()
    assert not Order.objects.exists()


def test_pay_page_builds_the_order_of_a_completed_survey(client, w):
    open_survey(client, w.alice)
    completed(w.alice)
    assert client.get(pay_url(w)).status_code == 200
    assert Order.objects.filter(backer=w.alice.backer).exists()


def test_refused_test_gateway_means_no_payment(client, w, alice, settings):
    settings.PLEDGEPORT_TEST_GATEWAY = False
    page = client.get(pay_url(w)).content.decode()
    assert "Payments are not available right now" in page
    client.post(pay_url(w), {"action": "pay"})
    assert not Payment.objects.exists()


def test_test_page_refuses_when_the_test_gateway_is_off(client, w, alice, settings):
    path = start(client, w)
    settings.PLEDGEPORT_TEST_GATEWAY = False
    assert (
        client.post(path, {"action": "pay", "card_number": "4242424242424242"}).status_code == 403
    )
    assert Payment.objects.get(order=alice).status == PaymentStatus.PENDING


def test_charge_at_lock_campaign_offers_to_save_the_card(client, w, alice):
    use_gateway(w.campaign, Gateway.TEST, charge_at_lock=True)
    assert 'value="save_card"' in client.get(pay_url(w)).content.decode()


def test_saving_a_card_on_the_test_page_keeps_it_for_the_lock(client, w, alice):
    use_gateway(w.campaign, Gateway.TEST, charge_at_lock=True)
    response = client.post(pay_url(w), {"action": "save_card"})
    path = urlsplit(response["Location"]).path
    client.post(path, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    card = Payment.objects.get(order=alice, kind=PaymentKind.SAVE_CARD)
    assert card.status == PaymentStatus.SUCCEEDED
    assert card.payment_method_id == "test_pm_4242424242424242"
    assert "Card saved" in client.get(pay_url(w, "survey-pay-return")).content.decode()


def test_after_a_refund_the_pay_page_asks_for_nothing(client, w, alice):
    from orders.services import payments

    from .conftest_payments import captured_payment

    payment = captured_payment(alice, "30.00")
    payments.refund_payment(payment=payment, amount="5.00", actor="staff", reason="Goodwill")
    page = client.get(pay_url(w)).content.decode()
    assert "Refunded to you (nothing to pay back)" in page
    assert "Nothing to pay: your order is paid in full." in page
    assert "−$30.00" in page  # paid here, refund included


def _as_test_response(w):
    SurveyResponse.objects.filter(invite=w.alice).update(is_test=True)


def test_a_test_response_never_sees_or_pays_the_backers_real_order(client, w, alice):
    _as_test_response(w)
    page = client.get(pay_url(w)).content.decode()
    assert "$30.00" not in page and "test response" in page
    response = client.post(pay_url(w), {"action": "pay"})
    assert response.status_code == 200
    assert not Payment.objects.filter(order=alice).exists()


def test_a_test_response_cannot_open_the_test_gateway_page_of_a_real_payment(client, w, alice):
    path = start(client, w)
    _as_test_response(w)
    assert client.get(path).status_code == 404
    payment = Payment.objects.get(order=alice)
    assert payment.status == PaymentStatus.PENDING
