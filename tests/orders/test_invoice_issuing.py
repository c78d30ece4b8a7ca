"""Issuing the missing invoices from the back office: paid orders without one (paid in
full by pledge credit, say) get theirs in a background task whose progress the
invoices page shows; only roles that may refund may start it."""

import pytest
from django.urls import reverse

from accounts.models import Role
from orders.models import Invoice
from orders.services.invoices import issue_invoice, issuing_job, orders_missing_invoice
from tests.conftest import member

from .conftest_invoices import make_order, tax_campaign


@pytest.fixture
def eur_campaign(organization):
    return tax_campaign(organization)


def issue_url(campaign):
    return reverse("invoices-issue", kwargs={"slug": campaign.slug})


def list_url(campaign):
    return reverse("invoice-list", kwargs={"slug": campaign.slug})


def progress_url(campaign):
    return reverse("invoices-issue-progress", kwargs={"slug": campaign.slug})


def test_the_page_counts_the_paid_orders_without_an_invoice(owner_client, eur_campaign):
    make_order(eur_campaign)
    make_order(eur_campaign)
    issue_invoice(order=make_order(eur_campaign))
    page = owner_client.get(list_url(eur_campaign)).content.decode()
    assert "2 paid orders have no invoice yet" in page
    assert "Issue the missing invoices" in page


def test_the_button_issues_every_missing_invoice(
    owner_client, eur_campaign, django_capture_on_commit_callbacks
):
    orders = [make_order(eur_campaign) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(issue_url(eur_campaign))
    assert response.status_code == 302
    assert Invoice.objects.filter(order__in=orders).count() == 3
    assert not orders_missing_invoice(campaign=eur_campaign).exists()
    job = issuing_job(campaign=eur_campaign).get()
    assert (job["finished"], job["issued"], job["total"]) == (True, 3, 3)
    page = owner_client.get(list_url(eur_campaign)).content.decode()
    assert "3 invoices issued" in page


def test_while_issuing_the_box_polls_for_progress(owner_client, eur_campaign):
    job = issuing_job(campaign=eur_campaign)
    job.start(200)
    job.advance(50)
    box = owner_client.get(progress_url(eur_campaign)).content.decode()
    assert 'hx-trigger="every 2s"' in box
    assert "50 of 200 orders" in box and 'aria-valuenow="25"' in box


def test_a_finished_run_stops_polling(owner_client, eur_campaign):
    job = issuing_job(campaign=eur_campaign)
    job.start(2)
    job.finish(done=2, issued=2, failed=0)
    box = owner_client.get(progress_url(eur_campaign)).content.decode()
    assert "hx-trigger" not in box and "2 invoices issued" in box


def test_nothing_missing_starts_no_task(owner_client, eur_campaign):
    issue_invoice(order=make_order(eur_campaign))
    owner_client.post(issue_url(eur_campaign))
    assert issuing_job(campaign=eur_campaign).get() is None


def test_support_sees_no_button_and_may_not_issue(client, organization, eur_campaign):
    make_order(eur_campaign)
    client.force_login(member(organization, Role.SUPPORT))
    page = client.get(list_url(eur_campaign)).content.decode()
    assert "Issue the missing invoices" not in page
    assert client.post(issue_url(eur_campaign)).status_code == 403
    assert not Invoice.objects.exists()


def test_another_organization_gets_404(outsider_client, eur_campaign):
    make_order(eur_campaign)
    assert outsider_client.post(issue_url(eur_campaign)).status_code == 404
    assert outsider_client.get(progress_url(eur_campaign)).status_code == 404
    assert not Invoice.objects.exists()
