"""validate_addresses: a campaign's address versions checked in batches, and its command."""

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command

from orders.models import (
    AddressSource,
    AddressStatus,
    EventKind,
    HoldReason,
    OrderEvent,
    OrderHold,
    OrderState,
)
from orders.services.addresses import check_address, record_address, validate_addresses
from orders.services.bulk_building import build_orders
from surveys.address import normalize_address

from .conftest_bld import US_ADDRESS, bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401
from .test_address_validation import VALID

pytestmark = pytest.mark.django_db


def _campaign_with(w, *addresses):
    red = w.colour.options.get(label="Red").pk
    responses = [
        make_response(w, address=address, choices={w.colour.pk: [red]}, completed=True)
        for address in addresses
    ]
    build_orders(campaign=w.campaign)
    return responses


def _order(response):
    return response.backer.orders.get()


@pytest.mark.parametrize("country", sorted(VALID))
def test_the_check_agrees_with_the_survey_form(country):
    fields = {"name": "Ada Lovelace", **VALID[country], "country": country}
    survey_form = {**fields, "country_code": country}
    expected = normalize_address(survey_form)
    normalized = check_address(fields).normalized
    for key in ("country_area", "city", "city_area", "postal_code", "street_address"):
        assert normalized[key] == expected[key]


def test_the_bulk_check_marks_good_and_bad_versions(w):
    good, bad = _campaign_with(w, US_ADDRESS, {**US_ADDRESS, "postal_code": "1"})
    result = validate_addresses(campaign=w.campaign, send_emails=False)
    assert (result.checked, result.valid, result.invalid) == (2, 1, 1)
    assert _order(good).address.status == AddressStatus.VALID
    assert _order(bad).address.problems == {"postal_code": "invalid"}


def test_the_bulk_check_holds_orders_with_a_bad_address(w):
    good, bad = _campaign_with(w, US_ADDRESS, {**US_ADDRESS, "postal_code": "1"})
    validate_addresses(campaign=w.campaign, send_emails=False)
    order = _order(bad)
    assert order.state == OrderState.SUBMITTED
    assert order.address_status == AddressStatus.INVALID
    assert OrderHold.objects.get(order=order).reason == HoldReason.ADDRESS_INVALID
    assert _order(good).state == OrderState.READY


def test_the_bulk_check_clears_the_hold_of_a_corrected_address(w):
    (bad,) = _campaign_with(w, {**US_ADDRESS, "postal_code": "1"})
    validate_addresses(campaign=w.campaign, send_emails=False)
    order = _order(bad)
    record_address(
        order=order,
        fields={**order.address.as_dict(), "postal_code": "94043"},
        source=AddressSource.BACKER_FIX,
    )
    result = validate_addresses(campaign=w.campaign, send_emails=False)
    order.refresh_from_db()
    assert (result.checked, result.holds_cleared) == (1, 1)
    assert order.state == OrderState.READY
    assert OrderEvent.objects.filter(order=order, kind=EventKind.HOLD_CLEARED).exists()


def test_without_all_checked_versions_are_skipped(w):
    _campaign_with(w, US_ADDRESS)
    validate_addresses(campaign=w.campaign, send_emails=False)
    assert validate_addresses(campaign=w.campaign, send_emails=False).checked == 0


def test_with_recheck_every_version_is_checked_again(w):
    _campaign_with(w, US_ADDRESS)
    validate_addresses(campaign=w.campaign, send_emails=False)
    assert validate_addresses(campaign=w.campaign, recheck=True, send_emails=False).checked == 1


def test_the_bulk_check_emails_each_bad_version_once(w, mailoutbox):
    _campaign_with(w, {**US_ADDRESS, "postal_code": "1"})
    validate_addresses(campaign=w.campaign)
    validate_addresses(campaign=w.campaign, recheck=True)
    assert len(mailoutbox) == 1


def test_the_command_prints_the_counts(w, capsys):
    _campaign_with(w, US_ADDRESS, {**US_ADDRESS, "postal_code": "1"})
    call_command("validate_addresses", w.campaign.slug, "--no-email")
    out = capsys.readouterr().out
    assert "2 checked, 1 valid, 1 invalid" in out


def test_the_command_fails_for_an_unknown_campaign(db):
    with pytest.raises(CommandError):
        call_command("validate_addresses", "no-such-campaign")


def test_the_command_exits_non_zero_when_an_email_cannot_be_sent(w, settings):
    settings.EMAIL_BACKEND = "tests.orders.test_address_validation_bulk.FailingBackend"
    _campaign_with(w, {**US_ADDRESS, "postal_code": "1"})
    with pytest.raises(CommandError):
        call_command("validate_addresses", w.campaign.slug)


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")
