"""Money as gateways count it: integers in the currency's minor unit (cents; yen have
none). Rounding is half-up, once, to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from djmoney.money import Money

# Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal): the
# amount is sent as is, 1500 JPY is `1500`.
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# Three-decimal currencies (amounts in thousandths).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-exponent(currency)), ROUND_HALF_UP)


def to_minor_units(money: Money) -> int:
    """12.34 USD → 1234; 1500 JPY → 1500 (rounded half-up first)."""
    currency = str(money.currency)
    return int(round_amount(money.amount, currency).scaleb(exponent(currency)))


def from_minor_units(value: int, currency: str) -> Money:
    currency = currency.upper()
    return Money(Decimal(int(value)).scaleb(-exponent(currency)), currency)
