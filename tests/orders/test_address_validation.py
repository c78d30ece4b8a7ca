"""Address versions of an order: checked once per version against the country's rules,
the `address_invalid` hold and the "fix your address" email follow the check."""

import pytest

from orders.errors import ReasonRequired
from orders.errors_build import AddressNotEditable
from orders.models import (
    AddressSource,
    AddressStatus,
    EventKind,
    HoldReason,
    OrderEvent,
    OrderHold,
    OrderState,
)
from orders.services.addresses import (
    accept_address,
    check_address,
    record_address,
    validate_address,
)
from orders.services.building import build_order
from orders.services.states import change_state
from orders.tasks import validate_order_address
from tests.factories import UserFactory

from .conftest_bld import (  # noqa: F401
    US_ADDRESS,
    bld_fresh_catalog_cache,
    bld_world,
    checked,
    make_response,
)

pytestmark = pytest.mark.django_db

VALID = {
    "US": {"street_address": "1600 Amphitheatre Pkwy", "city": "Mountain View",
           "country_area": "CA", "postal_code": "94043"},
    "CA": {"street_address": "111 Wellington St", "city": "Ottawa", "country_area": "ON",
           "postal_code": "K1A 0A9"},
    "GB": {"street_address": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA"},
    "DE": {"street_address": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117"},
    "FR": {"street_address": "55 Rue du Faubourg Saint-Honoré", "city": "Paris",
           "postal_code": "75008"},
    "JP": {"street_address": "1-1 Chiyoda", "city": "Chiyoda-ku", "country_area": "Tokyo",
           "postal_code": "100-0001"},
    "BR": {"street_address": "Av. Paulista, 1000", "city": "Sao Paulo", "country_area": "SP",
           "city_area": "Bela Vista", "postal_code": "01310-100"},
    "AU": {"street_address": "1 Macquarie St", "city": "Sydney", "country_area": "NSW",
           "postal_code": "2000"},
    "IT": {"street_address": "Via del Corso 1", "city": "Roma", "country_area": "RM",
           "postal_code": "00186"},
    "ES": {"street_address": "Calle Mayor 1", "city": "Madrid", "country_area": "Madrid",
           "postal_code": "28013"},
    "NL": {"street_address": "Dam 1", "city": "Amsterdam", "postal_code": "1012 JS"},
    "CN": {"street_address": "1 Chang'an Ave", "city": "Dongcheng Qu",
           "country_area": "Beijing Shi", "postal_code": "100006"},
    "SE": {"street_address": "Drottninggatan 1", "city": "Stockholm", "postal_code": "111 51"},
}  # fmt: skip
# A postal code of the wrong shape for each country.
BAD_POSTAL = {
    "US": "9404",
    "CA": "12345",
    "GB": "XYZ",
    "DE": "1011",
    "FR": "7500",
    "JP": "1000",
    "BR": "0131",
    "AU": "20000",
    "IT": "0018",
    "ES": "2801",
    "NL": "10122",
    "CN": "10000",
    "SE": "1115",
}


def _fields(country, **changes):
    return {"name": "Ada Lovelace", **VALID[country], "country": country, **changes}


@pytest.mark.parametrize("country", sorted(VALID))
def test_a_valid_address_passes_its_countrys_rules(country):
    result = check_address(_fields(country))
    assert (result.status, result.problems) == (AddressStatus.VALID, {})
    assert result.normalized["country"] == country


@pytest.mark.parametrize("country", sorted(BAD_POSTAL))
def test_a_postal_code_of_the_wrong_shape_is_invalid(country):
    result = check_address(_fields(country, postal_code=BAD_POSTAL[country]))
    assert result.status == AddressStatus.INVALID
    assert result.problems == {"postal_code": "invalid"}


def test_a_missing_required_part_is_reported_as_required():
    result = check_address(_fields("US", city=""))
    assert result.problems == {"city": "required"}


def test_an_unknown_subdivision_is_invalid():
    result = check_address(_fields("US", country_area="ZZ"))
    assert result.problems == {"country_area": "invalid"}


def test_the_normalized_form_uses_the_subdivision_code():
    result = check_address(_fields("US", country_area="California"))
    assert result.normalized["country_area"] == "CA"


def _order(w, **address_changes):
    address = {**US_ADDRESS, **address_changes}
    option = w.colour.options.first()
    return build_order(
        response=make_response(
            w, address=address, choices={w.colour.pk: [option.pk]}, completed=True
        )
    )


def _open_reasons(order):
    return set(
        OrderHold.objects.filter(order=order, cleared_at__isnull=True).values_list(
            "reason", flat=True
        )
    )


def test_validating_a_good_address_marks_the_order_valid(w):
    order = _order(w)
    address = validate_address(address_id=order.address_id)
    order.refresh_from_db()
    assert (address.status, order.address_status) == (AddressStatus.VALID, AddressStatus.VALID)
    assert address.checked_at is not None
    assert address.normalized["city"] == "MOUNTAIN VIEW"
    assert order.state == OrderState.READY


def test_a_bad_address_opens_the_address_hold(w):
    order = _order(w, postal_code="9404")
    validate_address(address_id=order.address_id)
    order.refresh_from_db()
    assert order.address_status == AddressStatus.INVALID
    assert order.address.problems == {"postal_code": "invalid"}
    assert _open_reasons(order) == {HoldReason.ADDRESS_INVALID}
    assert order.state == OrderState.SUBMITTED


def test_a_bad_address_emails_the_backer_a_magic_link(w, mailoutbox):
    order = _order(w, postal_code="9404")
    validate_address(address_id=order.address_id)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [order.email]
    assert "/t/" in message.body
    assert "Postal code" in message.body


def test_the_task_checks_a_version_only_once(w, mailoutbox):
    order = _order(w, postal_code="9404")
    validate_order_address(order.address_id)
    validate_order_address(order.address_id)
    checks = OrderEvent.objects.filter(order=order, kind=EventKind.ADDRESS_CHECKED).count()
    assert (checks, len(mailoutbox)) == (1, 1)


def test_the_email_goes_once_per_bad_version(w, mailoutbox):
    order = _order(w, postal_code="9404")
    validate_address(address_id=order.address_id)
    second = record_address(
        order=order,
        fields={**order.address.as_dict(), "postal_code": "940"},
        source=AddressSource.BACKER_FIX,
        actor="backer",
    )
    validate_address(address_id=second.pk)
    validate_address(address_id=second.pk)
    assert len(mailoutbox) == 2


def test_a_corrected_address_clears_the_hold(w):
    order = _order(w, postal_code="9404")
    validate_address(address_id=order.address_id)
    fixed = record_address(
        order=order,
        fields={**order.address.as_dict(), "postal_code": "94043"},
        source=AddressSource.BACKER_FIX,
        actor="backer",
    )
    validate_address(address_id=fixed.pk)
    order.refresh_from_db()
    assert _open_reasons(order) == set()
    assert (order.address_status, order.state) == (AddressStatus.VALID, OrderState.READY)


def test_checking_an_old_version_leaves_the_order_alone(w):
    order = _order(w, postal_code="9404")
    old = order.address
    record_address(
        order=order,
        fields={**old.as_dict(), "postal_code": "94043"},
        source=AddressSource.BACKER_FIX,
        actor="backer",
    )
    validate_address(address_id=old.pk)
    order.refresh_from_db()
    assert order.address_status == AddressStatus.UNCHECKED
    assert _open_reasons(order) == set()


def test_accepting_an_address_as_is_clears_the_hold_with_the_reason(w):
    order = _order(w, postal_code="9404")
    validate_address(address_id=order.address_id)
    user = UserFactory()
    accept_address(address=order.address, actor=user, reason="Military post, checked by phone")
    order.refresh_from_db()
    assert order.address_status == AddressStatus.ACCEPTED
    assert order.address.accepted_by == user
    assert _open_reasons(order) == set()
    event = OrderEvent.objects.get(order=order, kind=EventKind.ADDRESS_ACCEPTED)
    assert event.message == "Military post, checked by phone"


def test_accepting_needs_a_reason(w):
    order = _order(w, postal_code="9404")
    with pytest.raises(ReasonRequired):
        accept_address(address=order.address, actor=UserFactory(), reason="  ")


def test_an_accepted_version_is_not_checked_again(w):
    order = _order(w, postal_code="9404")
    accept_address(address=order.address, actor=UserFactory(), reason="Known address")
    address = validate_address(address_id=order.address_id)
    assert (address.status, address.checked_at) == (AddressStatus.ACCEPTED, None)


def test_a_backer_cannot_change_the_address_of_a_locked_order(w):
    order = checked(_order(w))
    change_state(order=order, to=OrderState.LOCKED)
    with pytest.raises(AddressNotEditable):
        record_address(order=order, fields=order.address.as_dict(), source=AddressSource.BACKER_FIX)


def test_staff_can_change_the_address_of_a_locked_order(w):
    order = checked(_order(w))
    change_state(order=order, to=OrderState.LOCKED)
    address = record_address(
        order=order,
        fields={**order.address.as_dict(), "city": "Palo Alto", "postal_code": "94301"},
        source=AddressSource.STAFF,
        actor=UserFactory(),
    )
    assert address.version == 2


def test_recording_an_address_enqueues_its_check_after_commit(
    w, django_capture_on_commit_callbacks, mailoutbox
):
    order = _order(w)
    with django_capture_on_commit_callbacks(execute=True):
        address = record_address(
            order=order,
            fields={**order.address.as_dict(), "postal_code": "1"},
            source=AddressSource.BACKER_FIX,
        )
    address.refresh_from_db()
    assert address.status == AddressStatus.INVALID
