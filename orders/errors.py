"""Refused actions of the orders app. Each has a stable `code` that the pages and
the API show; `field` names the form field the message belongs next to (None:
the whole form)."""


class OrdersError(Exception):
    code = "orders_error"
    default_field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field if field is not None else self.default_field


# --- tax -----------------------------------------------------------------------------


class TaxError(OrdersError):
    code = "tax_error"


class TaxLineInvalid(TaxError):
    """A line the engine cannot tax (unknown kind, negative amount)."""

    code = "tax_line_invalid"


class TaxRateMissing(TaxError):
    """A regime that charges tax at checkout, but no rate in force for the destination."""

    code = "tax_rate_missing"


class ExchangeRateMissing(TaxError):
    """A threshold needs the goods value in another currency and the creator set no
    rate valid on the day."""

    code = "exchange_rate_missing"
    default_field = "date"


class VatNumberInvalid(TaxError):
    code = "vat_number_invalid"
    default_field = "vat_number"


class TaxRateConflict(TaxError):
    """Two rates for one destination valid from the same day."""

    code = "tax_rate_conflict"
    default_field = "valid_from"


class ExchangeRateInvalid(TaxError):
    code = "exchange_rate_invalid"
    default_field = "quote_currency"


# --- orders ----------------------------------------------------------------------------


class TransitionNotAllowed(OrdersError):
    """A state change the order's state machine does not allow."""

    code = "transition_not_allowed"


class OrderLocked(OrdersError):
    """The order is locked (or further on): backers can no longer change it."""

    code = "order_locked"


class HoldNotOpen(OrdersError):
    code = "hold_not_open"


class HoldCauseRemains(OrdersError):
    """A hold whose cause is in the order's own lines (a line without a SKU): clearing
    it would send the warehouse a line it cannot pick."""

    code = "hold_cause_remains"


class ReasonRequired(OrdersError):
    """Staff actions that bypass a check (accept an address, unlock) need a reason."""

    code = "reason_required"
    default_field = "reason"
