"""Refused shipping actions. `code` is stable: pages and the survey show it,
tests and the API match on it."""


class ShippingError(Exception):
    """A refused shipping action. `field` names the form field the message
    belongs next to (None: the whole form)."""

    code = "shipping_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ShipsNowhere(ShippingError):
    """The campaign does not ship to this destination: excluded, or no zone covers it."""

    code = "ships_nowhere"


class ZoneConflict(ShippingError):
    """A zone would overlap another one (same country, region or postal prefix;
    a second rest-of-world zone) or name an excluded country."""

    code = "zone_conflict"


class ZoneInvalid(ShippingError):
    """A country, region or postal prefix that is not written right."""

    code = "zone_invalid"


class FeeInvalid(ShippingError):
    code = "fee_invalid"


class FeeMissing(ShippingError):
    """The method needs a fee the creator has not set (a reward in a zone, a
    weight above the largest band)."""

    code = "fee_missing"


class CartInvalid(ShippingError):
    """The reward or an add-on of the cart is not part of the campaign."""

    code = "shipping_cart_invalid"


class RateCardRefused(ShippingError):
    """The uploaded rate card has problems; nothing of it was kept."""

    code = "rate_card_refused"

    def __init__(self, message: str, *, problems=()):
        super().__init__(message)
        self.problems = list(problems)
