"""Back-office payment pages: settings (keys never shown), the payments list, an
order's payments panel with its ledger, the refund form; who may see and do what."""

import pytest
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from orders.models import Gateway, PaymentSettings, PaymentStatus, Refund
from orders.services import payments
from tests.conftest import member

from .conftest_payments import captured_payment, order_due


@pytest.fixture(autouse=True)
def _test_gateway_allowed(settings):
    settings.PLEDGEPORT_TEST_GATEWAY = True


@pytest.fixture
def order(campaign):
    return order_due(campaign, total="80.00", credit="50.00")


@pytest.fixture
def payment(order):
    return captured_payment(order, "30.00")


def login(client, organization, role):
    client.force_login(member(organization, role))
    return client


def refund_url(order, payment):
    return reverse("payment-refund", args=[order.campaign.slug, order.number, payment.pk])


def panel_url(order):
    return reverse("order-payments", args=[order.campaign.slug, order.number])


def test_settings_page_says_stripe_is_configured_without_showing_the_key(
    owner_client, campaign, settings
):
    settings.STRIPE_SECRET_KEY = "sk_live_very_secret_value"
    response = owner_client.get(reverse("payment-settings", args=[campaign.slug]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "configured" in page
    assert "sk_live_very_secret_value" not in page


def test_settings_page_says_when_stripe_is_not_configured(owner_client, campaign, settings):
    settings.STRIPE_SECRET_KEY = ""
    page = owner_client.get(reverse("payment-settings", args=[campaign.slug])).content.decode()
    assert "not configured" in page


def test_owner_chooses_stripe_and_charge_at_lock(owner_client, campaign):
    response = owner_client.post(
        reverse("payment-settings", args=[campaign.slug]),
        {"gateway": Gateway.STRIPE, "charge_at_lock": "on", "statement_descriptor": "PLEDGE"},
    )
    assert response.status_code == 302
    saved = PaymentSettings.objects.get(campaign=campaign)
    assert (saved.gateway, saved.charge_at_lock) == (Gateway.STRIPE, True)


def test_support_sees_settings_but_cannot_change_them(client, organization, campaign):
    login(client, organization, Role.SUPPORT)
    url = reverse("payment-settings", args=[campaign.slug])
    assert client.get(url).status_code == 200
    assert client.post(url, {"gateway": Gateway.STRIPE}).status_code == 403
    assert not PaymentSettings.objects.filter(campaign=campaign).exists()


def test_panel_ledger_running_total_equals_the_orders_paid_figures(owner_client, order, payment):
    payments.refund_payment(payment=payment, amount="5.00", actor="staff", reason="x")
    response = owner_client.get(panel_url(order))
    assert response.status_code == 200
    assert response.context["ledger_agrees"] is True
    assert response.context["ledger_total"] == 75
    assert "The ledger" not in response.content.decode()


def test_owner_refunds_part_of_a_payment(owner_client, order, payment):
    url = refund_url(order, payment)
    key = owner_client.get(url).context["form"].initial["key"]
    response = owner_client.post(
        url, {"mode": "partial", "amount": "12.00", "reason": "Damaged", "key": key}
    )
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason) == (Money("12.00", "USD"), "Damaged")


def test_full_refund_takes_everything_left(owner_client, order, payment):
    payments.refund_payment(payment=payment, amount="10.00", actor="staff", reason="x")
    owner_client.post(
        refund_url(order, payment), {"mode": "full", "reason": "Cancelled", "key": "k-full"}
    )
    payment.refresh_from_db()
    assert payment.refunded == payment.captured


def test_refund_above_what_is_left_shows_next_to_the_amount(owner_client, order, payment):
    response = owner_client.post(
        refund_url(order, payment),
        {"mode": "partial", "amount": "30.01", "reason": "x", "key": "k-big"},
    )
    assert response.status_code == 400
    assert "can still be refunded" in str(response.context["form"].errors["amount"])
    assert not Refund.objects.exists()


def test_role_without_refund_permission_gets_403(client, organization, order, payment):
    login(client, organization, Role.SUPPORT)
    url = refund_url(order, payment)
    assert client.get(url).status_code == 403
    response = client.post(url, {"mode": "full", "reason": "x", "key": "k"})
    assert response.status_code == 403
    assert not Refund.objects.exists()


def test_support_sees_the_panel_without_refund_buttons(client, organization, order, payment):
    login(client, organization, Role.SUPPORT)
    page = client.get(panel_url(order)).content.decode()
    assert "Refund…" not in page


def test_warehouse_cannot_see_payments(client, organization, order):
    login(client, organization, Role.WAREHOUSE)
    assert client.get(panel_url(order)).status_code == 403


def test_other_organization_gets_404_for_the_panel(outsider_client, order):
    assert outsider_client.get(panel_url(order)).status_code == 404


def test_other_organization_cannot_refund(outsider_client, order, payment):
    response = outsider_client.post(
        refund_url(order, payment), {"mode": "full", "reason": "x", "key": "k"}
    )
    assert response.status_code == 404
    assert not Refund.objects.exists()


def test_payment_list_filters_by_status(owner_client, campaign, order, payment):
    pending = order.payments.create(
        gateway=Gateway.TEST, idempotency_key="pending-1", amount=Money(30, "USD")
    )
    url = reverse("payment-list", args=[campaign.slug])
    listed = owner_client.get(url, {"status": PaymentStatus.PENDING}).context["payments"]
    assert [p.pk for p in listed] == [pending.pk]


def test_payment_list_pages_by_keyset(owner_client, campaign, order, monkeypatch):
    from orders import payment_views

    monkeypatch.setattr(payment_views, "PER_PAGE", 2)
    made = [
        order.payments.create(
            gateway=Gateway.TEST, idempotency_key=f"page-{n}", amount=Money(1, "USD")
        )
        for n in range(3)
    ]
    url = reverse("payment-list", args=[campaign.slug])
    first = owner_client.get(url)
    assert [p.pk for p in first.context["payments"]] == [made[2].pk, made[1].pk]
    second = owner_client.get(f"{url}?{first.context['next_query']}")
    assert [p.pk for p in second.context["payments"]] == [made[0].pk]


def test_payment_list_queries_do_not_grow_with_rows(
    owner_client, campaign, order, django_assert_max_num_queries
):
    for n in range(20):
        order.payments.create(
            gateway=Gateway.TEST, idempotency_key=f"q-{n}", amount=Money(1, "USD")
        )
    with django_assert_max_num_queries(12):
        owner_client.get(reverse("payment-list", args=[campaign.slug]))
