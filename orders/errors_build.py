"""Refused actions of building orders, merging them and checking their addresses
(issue 7). Same shape as orders.errors: a stable `code`, `message`, `field`."""

from .errors import OrdersError


class MergeNotAllowed(OrdersError):
    """Two orders that cannot be merged (same order, other campaign, locked, already merged)."""

    code = "merge_not_allowed"


class AddressNotEditable(OrdersError):
    """The order's address can no longer be changed by the backer (locked or further on)."""

    code = "address_not_editable"


class NoResponse(OrdersError):
    """A build needs the backer's survey response or at least their pledge."""

    code = "no_pledge"


class SmokeTestResponse(OrdersError):
    """A creator's test response (smoke test of the survey) never becomes an order."""

    code = "smoke_test_response"
