"""The "fix your address" emails of a bulk check: one Celery task per batch sends its bad
versions over one mail connection, once per version, and keeps what went when the mail
server fails part-way."""

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from orders.models import AddressSource, EventKind, OrderEvent, OrderState
from orders.services.addresses import (
    accept_address,
    record_address,
    send_fix_address_emails,
    validate_addresses,
)
from orders.services.bulk_building import build_orders
from orders.services.states import change_state
from orders.tasks import send_fix_address_emails as email_task
from tests.factories import UserFactory

from .conftest_bld import US_ADDRESS, bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401

pytestmark = pytest.mark.django_db

BAD = {**US_ADDRESS, "postal_code": "1"}


def _orders(w, *addresses):
    red = w.colour.options.get(label="Red").pk
    responses = [
        make_response(w, address=address, choices={w.colour.pk: [red]}, completed=True)
        for address in addresses
    ]
    build_orders(campaign=w.campaign)
    return [response.backer.orders.get() for response in responses]


def _checked(w, *addresses):
    orders = _orders(w, *addresses)
    validate_addresses(campaign=w.campaign, send_emails=False)
    for order in orders:
        order.refresh_from_db()
    return orders


def _fix_emails(order):
    return OrderEvent.objects.filter(order=order, kind=EventKind.EMAIL, after__email="address_fix")


class CountingBackend(EmailBackend):
    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return super().open()


class FailingBackend(EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


class FailingOnSecondBackend(EmailBackend):
    def send_messages(self, messages):
        if len(mail.outbox) >= 1:
            raise ConnectionRefusedError("SMTP server down")
        return super().send_messages(messages)


def test_the_batch_task_emails_every_bad_version(w, mailoutbox):
    first, second = _checked(w, BAD, BAD)
    sent = email_task.delay([first.address_id, second.address_id]).get()
    assert sent == 2
    assert sorted(message.to[0] for message in mailoutbox) == sorted([first.email, second.email])


def test_the_batch_task_writes_one_timeline_entry_per_email(w, mailoutbox):
    (order,) = _checked(w, BAD)
    send_fix_address_emails(address_ids=[order.address_id])
    entry = _fix_emails(order).get()
    assert (entry.actor_label, entry.after["address_id"]) == ("system", order.address_id)


def test_the_batch_task_sends_over_one_mail_connection(w, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.orders.test_address_validation_emails.CountingBackend"
    CountingBackend.opened = 0
    orders = _checked(w, BAD, BAD, BAD)
    send_fix_address_emails(address_ids=[order.address_id for order in orders])
    assert (len(mailoutbox), CountingBackend.opened) == (3, 1)


def test_the_email_has_the_magic_link_and_the_bad_parts(w, mailoutbox):
    (order,) = _checked(w, BAD)
    send_fix_address_emails(address_ids=[order.address_id])
    assert "/t/" in mailoutbox[0].body
    assert "Postal code" in mailoutbox[0].body


def test_a_version_already_emailed_is_not_emailed_again(w, mailoutbox):
    (order,) = _checked(w, BAD)
    send_fix_address_emails(address_ids=[order.address_id])
    assert send_fix_address_emails(address_ids=[order.address_id]) == 0
    assert len(mailoutbox) == 1


def test_a_version_no_longer_current_is_not_emailed(w, mailoutbox):
    (order,) = _checked(w, BAD)
    old = order.address_id
    record_address(
        order=order,
        fields={**order.address.as_dict(), "postal_code": "94043"},
        source=AddressSource.BACKER_FIX,
    )
    assert send_fix_address_emails(address_ids=[old]) == 0
    assert mailoutbox == []


def test_an_accepted_version_is_not_emailed(w, mailoutbox):
    (order,) = _checked(w, BAD)
    accept_address(address=order.address, actor=UserFactory(), reason="Known address")
    assert send_fix_address_emails(address_ids=[order.address_id]) == 0


def test_a_good_version_is_not_emailed(w, mailoutbox):
    (order,) = _checked(w, US_ADDRESS)
    assert send_fix_address_emails(address_ids=[order.address_id]) == 0


def test_a_cancelled_order_is_not_emailed(w, mailoutbox):
    (order,) = _checked(w, BAD)
    change_state(order=order, to=OrderState.CANCELLED)
    assert send_fix_address_emails(address_ids=[order.address_id]) == 0


def test_a_failing_mail_server_keeps_the_emails_that_went(w, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.orders.test_address_validation_emails.FailingOnSecondBackend"
    first, second = _checked(w, BAD, BAD)
    with pytest.raises(ConnectionRefusedError):
        send_fix_address_emails(address_ids=[first.address_id, second.address_id])
    assert (_fix_emails(first).count(), _fix_emails(second).count()) == (1, 0)


def test_a_retry_after_a_failure_sends_only_the_rest(w, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.orders.test_address_validation_emails.FailingOnSecondBackend"
    first, second = _checked(w, BAD, BAD)
    with pytest.raises(ConnectionRefusedError):
        send_fix_address_emails(address_ids=[first.address_id, second.address_id])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_fix_address_emails(address_ids=[first.address_id, second.address_id]) == 1
    assert [message.to[0] for message in mailoutbox] == [first.email, second.email]


def test_the_bulk_check_hands_each_batch_to_one_email_task(w, monkeypatch):
    calls = []
    monkeypatch.setattr(email_task, "delay", lambda ids: calls.append(ids))
    orders = _orders(w, BAD, US_ADDRESS, BAD, BAD)
    result = validate_addresses(campaign=w.campaign, batch_size=2)
    bad = [orders[0].address_id, orders[2].address_id, orders[3].address_id]
    assert calls == [[bad[0]], [bad[1], bad[2]]]
    assert (result.emails_queued, result.emails_sent) == (3, 0)


def test_the_bulk_check_counts_the_emails_an_eager_task_sent(w, mailoutbox):
    _orders(w, BAD, US_ADDRESS, BAD)
    result = validate_addresses(campaign=w.campaign)
    assert (result.emails_queued, result.emails_sent, len(mailoutbox)) == (2, 2, 2)


def test_the_bulk_check_without_emails_queues_none(w, monkeypatch):
    calls = []
    monkeypatch.setattr(email_task, "delay", lambda ids: calls.append(ids))
    _orders(w, BAD)
    validate_addresses(campaign=w.campaign, send_emails=False)
    assert calls == []


def test_the_bulk_check_reports_a_failing_mail_server(w, settings):
    settings.EMAIL_BACKEND = "tests.orders.test_address_validation_emails.FailingBackend"
    _orders(w, BAD)
    result = validate_addresses(campaign=w.campaign)
    assert result.errors and "SMTP server down" in result.errors[0]


def _link_of(message) -> str:
    import re
    from urllib.parse import urlsplit

    parts = urlsplit(re.search(r"https?://\S+/t/\S+", message.body).group(0))
    return f"{parts.path}?{parts.query}"


def test_the_emails_link_opens_the_address_step(w, mailoutbox, client):
    (order,) = _checked(w, BAD)
    send_fix_address_emails(address_ids=[order.address_id])
    response = client.get(_link_of(mailoutbox[0]))
    assert response.status_code == 302
    assert response.url.endswith("/step/address/")


def test_the_single_email_links_to_the_address_step_too(w, mailoutbox, client):
    from orders.services.addresses import send_fix_address_email

    (order,) = _checked(w, BAD)
    assert send_fix_address_email(order=order, address=order.address)
    assert client.get(_link_of(mailoutbox[0])).url.endswith("/step/address/")
