"""The review queue's bulk actions over open holds: clear them with a note, or
email the backers what to fix (their address, or the balance to pay).

Every action takes hold ids from a form and acts only on open holds of the
campaign's own orders; other ids are ignored. Clearing an `address_invalid` hold
accepts the address as it is (`addresses.accept_address`, the note as the reason),
so the address itself says who accepted it and why and a later check leaves it be."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from ..errors import HoldCauseRemains
from ..errors_pages import NoteRequired
from ..models import HoldReason, OrderHold
from . import addresses, payments
from .holds import clear_hold


def _open_holds(*, campaign, hold_ids: Iterable[int]):
    ids = {int(pk) for pk in hold_ids}
    return OrderHold.objects.filter(
        pk__in=ids, order__campaign=campaign, cleared_at__isnull=True
    ).order_by("pk")


def clear_selected_holds(*, campaign, hold_ids: Iterable[int], actor, note: str) -> int:
    """Clear the selected open holds of the campaign with `note` (required); each
    order whose last hold goes becomes ready. An address hold is cleared by accepting
    the order's current address as it is, with `note` as the reason (an address hold
    without an address just clears). Returns how many were cleared."""
    note = (note or "").strip()
    if not note:
        raise NoteRequired("Say why these holds can be cleared.")
    cleared = 0
    with transaction.atomic():
        # Rows locked in pk order: two staff clearing overlapping selections cannot
        # deadlock, and the second one skips what the first already cleared.
        holds = (
            _open_holds(campaign=campaign, hold_ids=hold_ids)
            .select_for_update(of=("self",))
            .select_related("order__address")
        )
        for hold in holds:
            address = hold.order.address
            if hold.reason == HoldReason.ADDRESS_INVALID and address is not None:
                addresses.accept_address(address=address, actor=actor, reason=note)
            else:
                try:
                    clear_hold(hold=hold, actor=actor, note=note)
                except HoldCauseRemains:
                    continue  # its cause is in the order's lines: it stays (counted apart)
            cleared += 1
    return cleared


@dataclass(frozen=True)
class EmailResult:
    sent: int
    # Not sent: a reason with nothing to ask, no email or survey link, or an order
    # no longer open to the backer.
    skipped: int


def email_backers_to_fix(*, campaign, hold_ids: Iterable[int], actor) -> EmailResult:
    """Email the backer of each selected hold what to do, with the services' own
    emails: fix the address (address_invalid: the fix-your-address mail, sent again
    even when the automatic one already went for this address version — staff chose
    to ask) or pay (payment_due: the balance and the pay link; payment_failed: the failed
    charge and the pay link). One email per order
    and reason; each sent email is on the order's timeline."""
    holds = list(
        _open_holds(campaign=campaign, hold_ids=hold_ids).select_related(
            "order", "order__address", "order__campaign"
        )
    )
    sent = skipped = 0
    for hold in holds:
        order = hold.order
        if hold.reason == HoldReason.ADDRESS_INVALID and order.address is not None:
            done = addresses.send_fix_address_email(order=order, address=order.address, force=True)
        elif hold.reason in (HoldReason.PAYMENT_DUE, HoldReason.PAYMENT_FAILED):
            done = bool(order.email) and payments.send_pay_again_email(
                order=order, failed=hold.reason == HoldReason.PAYMENT_FAILED
            )
        else:
            done = False
        if done:
            sent += 1
        else:
            skipped += 1
    return EmailResult(sent=sent, skipped=skipped)
