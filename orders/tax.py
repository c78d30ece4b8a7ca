"""The tax engine: which regime a parcel falls under and what tax each line carries.

Pure functions over dataclasses, no database: `orders.services.taxes.tax_quote()`
loads a campaign's rates, settings and exchange rates and calls `quote_tax()`.

Rules (shared/reference/tax-regimes.md):

- Low-value import schemes decide whether tax on a parcel is charged at checkout:
  EU IOSS (≤ €150), UK point of sale (≤ £135), Australia GST on low-value
  imports (≤ A$1,000), Norway VOEC (≤ NOK 3,000). The value tested is the
  consignment's intrinsic value: goods only, transport excluded, before the tax
  itself, converted with the creator's dated exchange rate. Within the limit and
  with the scheme's number set, tax on goods *and shipping* is charged at checkout
  and the number goes on the customs documents; otherwise the parcel is taxed at
  import: the backer pays on delivery, or the creator pays (DDP) if they chose so.
- No customs border between seller and backer (same country, or both in the EU
  where OSS applies): the destination's rate is charged at checkout ("domestic").
- Any other destination with a rate in the campaign's table is charged at
  checkout; a destination without one is not taxed ("none").
- Digital lines are never imported: they are taxed at checkout whenever the
  destination's rate covers digital supplies, whatever happens to the parcel.
- A backer's valid EU VAT number for a delivery to that EU country, other than
  the seller's, is a B2B sale: no VAT is charged (reverse charge).
- Tax is rounded once per line, half-up to the currency's minor unit. Prices that
  include tax have it taken out (gross × rate / (100 + rate)); otherwise it is added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import moneyed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from stdnum.eu import vat as eu_vat

from .errors import ExchangeRateMissing, TaxLineInvalid, TaxRateMissing, VatNumberInvalid

ZERO = Decimal("0")
HUNDRED = Decimal("100")


class LineKind(StrEnum):
    GOODS = "goods"
    SHIPPING = "shipping"
    DIGITAL = "digital"


class Regime(StrEnum):
    EU_IOSS = "eu_ioss"
    EU_IMPORT_VAT = "eu_import_vat"
    UK_POINT_OF_SALE = "uk_point_of_sale"
    UK_IMPORT = "uk_import"
    AU_GST = "au_gst"
    AU_IMPORT = "au_import"
    NO_VOEC = "no_voec"
    NO_IMPORT = "no_import"
    DOMESTIC = "domestic"
    NONE = "none"
    REVERSE_CHARGE = "reverse_charge"


REGIME_LABELS = {
    Regime.EU_IOSS: gettext_noop("EU IOSS: VAT charged at checkout"),
    Regime.EU_IMPORT_VAT: gettext_noop("EU import VAT at the border"),
    Regime.UK_POINT_OF_SALE: gettext_noop("UK VAT charged at the point of sale"),
    Regime.UK_IMPORT: gettext_noop("UK import VAT at the border"),
    Regime.AU_GST: gettext_noop("Australian GST on low-value imports, charged at checkout"),
    Regime.AU_IMPORT: gettext_noop("Australian GST at the border"),
    Regime.NO_VOEC: gettext_noop("Norway VOEC: VAT charged at checkout"),
    Regime.NO_IMPORT: gettext_noop("Norwegian import VAT at the border"),
    Regime.DOMESTIC: gettext_noop("Tax of the destination charged at checkout"),
    Regime.NONE: gettext_noop("No tax charged"),
    Regime.REVERSE_CHARGE: gettext_noop("Reverse charge: the business customer accounts for VAT"),
}

# The 27 member states: the EU VAT area that IOSS, OSS and reverse charge concern.
# fmt: off
EU_MEMBER_STATES = frozenset([
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
])
# fmt: on


@dataclass(frozen=True)
class LowValueScheme:
    """A destination's scheme for collecting tax on low-value imports at the sale."""

    name: str
    countries: frozenset[str]
    currency: str
    threshold: Decimal  # intrinsic value of the consignment, inclusive (≤)
    collected: Regime  # at or below the threshold, with the scheme's number set
    imported: Regime  # above it, or without the number
    number_field: str  # the TaxPolicy attribute printed on customs documents
    number_label: str


# A change to a limit is an edit of this table, not of the logic below.
LOW_VALUE_SCHEMES: tuple[LowValueScheme, ...] = (
    LowValueScheme(
        gettext_noop("EU IOSS"),
        EU_MEMBER_STATES,
        "EUR",
        Decimal("150"),
        Regime.EU_IOSS,
        Regime.EU_IMPORT_VAT,
        "ioss_number",
        gettext_noop("IOSS number"),
    ),
    LowValueScheme(
        gettext_noop("UK point of sale"),
        frozenset(["GB"]),
        "GBP",
        Decimal("135"),
        Regime.UK_POINT_OF_SALE,
        Regime.UK_IMPORT,
        "uk_vat_number",
        gettext_noop("UK VAT number"),
    ),
    LowValueScheme(
        gettext_noop("Australian low-value goods"),
        frozenset(["AU"]),
        "AUD",
        Decimal("1000"),
        Regime.AU_GST,
        Regime.AU_IMPORT,
        "abn",
        gettext_noop("ABN"),
    ),
    LowValueScheme(
        gettext_noop("Norway VOEC"),
        frozenset(["NO"]),
        "NOK",
        Decimal("3000"),
        Regime.NO_VOEC,
        Regime.NO_IMPORT,
        "voec_number",
        gettext_noop("VOEC number"),
    ),
)
SCHEME_CURRENCIES = tuple(dict.fromkeys(s.currency for s in LOW_VALUE_SCHEMES))
_SCHEME_OF = {country: s for s in LOW_VALUE_SCHEMES for country in s.countries}


# --- what goes in ----------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    country: str  # ISO 3166-1 alpha-2
    region: str = ""  # ISO 3166-2, "CA-ON"; "ON" is read as the country's "CA-ON"


@dataclass(frozen=True)
class Line:
    kind: str  # a LineKind
    amount: Decimal  # in the campaign's currency, as priced (gross if prices include tax)
    is_pledged_reward: bool = False  # paid on the crowdfunding platform, not in the survey
    description: str = ""


@dataclass(frozen=True)
class TaxPolicy:
    """A campaign's tax settings, as plain values."""

    currency: str
    prices_include_tax: bool = False
    tax_on_pledged_rewards: bool = True
    ddp_above_threshold: bool = False
    seller_country: str = ""
    ioss_number: str = ""
    uk_vat_number: str = ""
    voec_number: str = ""
    abn: str = ""


@dataclass(frozen=True)
class RateRow:
    country: str
    region: str
    rate: Decimal  # percent
    name: str = "VAT"
    goods: bool = True
    shipping: bool = True
    digital: bool = True
    valid_from: date | None = None  # None: in force until a dated row replaces it

    def applies_to(self, kind: str) -> bool:
        return {LineKind.GOODS: self.goods, LineKind.SHIPPING: self.shipping}.get(
            kind, self.digital
        )


@dataclass(frozen=True)
class ExchangeRateRow:
    base: str  # the campaign's currency
    quote: str  # EUR, GBP, AUD or NOK
    rate: Decimal  # one unit of base in quote
    valid_from: date


# --- what comes out --------------------------------------------------------------------


@dataclass(frozen=True)
class TaxedLine:
    line: Line
    rate: Decimal | None  # the percent applied; None: not taxed
    tax_name: str
    net: Decimal
    tax: Decimal
    total: Decimal

    @property
    def taxed(self) -> bool:
        return self.rate is not None

    @property
    def percent(self) -> str:
        return plain_number(self.rate) if self.rate is not None else ""


@dataclass(frozen=True)
class ThresholdCheck:
    scheme: str
    value: Decimal  # the consignment's intrinsic value in the scheme's currency
    currency: str
    threshold: Decimal
    exchange_rate: ExchangeRateRow | None  # None: the campaign prices in that currency

    @property
    def within(self) -> bool:
        return self.value <= self.threshold


@dataclass(frozen=True)
class TaxQuote:
    currency: str
    destination: Destination
    regime: Regime
    lines: tuple[TaxedLine, ...]
    rate: RateRow | None  # the destination's rate in force on the day
    collected_at_checkout: bool  # tax on the parcel (goods and shipping) charged now
    import_vat_at_delivery: bool  # the backer pays import tax when the parcel arrives
    ddp: bool  # the creator pays import tax and duty at the border
    customs_number: str  # IOSS / UK VAT / VOEC / ABN for the customs declaration
    customs_number_label: str
    threshold: ThresholdCheck | None
    vat_number: str  # the backer's validated VAT number, compact
    invoice_note: str
    explanation: tuple[str, ...]

    @property
    def regime_label(self) -> str:
        return _(REGIME_LABELS[self.regime])

    @property
    def reverse_charge(self) -> bool:
        return self.regime == Regime.REVERSE_CHARGE

    def _net(self, *kinds: str) -> Decimal:
        return sum((t.net for t in self.lines if t.line.kind in kinds), ZERO)

    @property
    def goods_total(self) -> Decimal:
        """Goods and digital lines before tax."""
        return self._net(LineKind.GOODS, LineKind.DIGITAL)

    @property
    def shipping_total(self) -> Decimal:
        return self._net(LineKind.SHIPPING)

    @property
    def tax_total(self) -> Decimal:
        return sum((t.tax for t in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((t.total for t in self.lines), ZERO)


# --- helpers other modules use ---------------------------------------------------------


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 USD, 1 JPY."""
    digits = len(str(moneyed.get_currency(currency).sub_unit)) - 1
    return Decimal(1).scaleb(-digits)


def plain_number(value: Decimal) -> str:
    """20.00 → "20", 25.50 → "25.5", 0.92000000 → "0.92"."""
    return format(value.normalize(), "f")


def normalize_region(country: str, region: str) -> str:
    region = (region or "").strip().upper()
    if region and "-" not in region:
        region = f"{country}-{region}"
    return region


def rate_in_force(
    rates: Iterable[RateRow], *, country: str, region: str = "", on: date
) -> RateRow | None:
    """The destination's rate on a day: the region's own row if it has one in force
    (an HST province), else the country's; the latest `valid_from` not after `on`."""
    in_force: dict[str, RateRow] = {}
    for row in rates:
        if row.country != country or row.region not in ("", region):
            continue
        if row.valid_from is not None and row.valid_from > on:
            continue
        best = in_force.get(row.region)
        if best is None or (best.valid_from or date.min) < (row.valid_from or date.min):
            in_force[row.region] = row
    return in_force.get(region) if region and region in in_force else in_force.get("")


def exchange_rate_in_force(
    rates: Iterable[ExchangeRateRow], *, base: str, quote: str, on: date
) -> ExchangeRateRow | None:
    candidates = [r for r in rates if r.base == base and r.quote == quote and r.valid_from <= on]
    return max(candidates, key=lambda r: r.valid_from, default=None)


def validate_vat_number(number: str) -> str:
    """The EU VAT number in compact form (DE136695976), or VatNumberInvalid."""
    compact = eu_vat.compact(number or "")
    if not eu_vat.is_valid(compact):
        raise VatNumberInvalid(
            _(
                "%(number)s is not a valid EU VAT number: it starts with the country "
                "(DE, FR, EL…) followed by the number."
            )
            % {"number": number.strip()}
        )
    return compact


# --- the engine ------------------------------------------------------------------------


def _round(amount: Decimal, quantum: Decimal) -> Decimal:
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def _tax_of(amount: Decimal, rate: Decimal, *, inclusive: bool, quantum: Decimal) -> Decimal:
    if inclusive:
        return _round(amount * rate / (HUNDRED + rate), quantum)
    return _round(amount * rate / HUNDRED, quantum)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{max(0, -minor_unit(currency).as_tuple().exponent)}f} {currency}"


_KINDS = frozenset(kind.value for kind in LineKind)


def _checked_lines(lines: Sequence[Line], quantum: Decimal) -> tuple[Line, ...]:
    """The lines with amounts in the currency's minor unit (99 → 99.00)."""
    checked = []
    for n, line in enumerate(lines, start=1):
        if line.kind not in _KINDS:
            raise TaxLineInvalid(
                _("Line %(n)s: unknown kind %(kind)r.") % {"n": n, "kind": line.kind}
            )
        if line.amount < 0:
            raise TaxLineInvalid(_("Line %(n)s: an amount cannot be negative.") % {"n": n})
        amount = line.amount.quantize(quantum)
        if amount != line.amount:
            raise TaxLineInvalid(
                _("Line %(n)s: %(amount)s is finer than the currency's smallest unit.")
                % {"n": n, "amount": line.amount}
            )
        checked.append(replace(line, amount=amount))
    return tuple(checked)


def _taxes_pledged(policy: TaxPolicy, line: Line) -> bool:
    return policy.tax_on_pledged_rewards or not line.is_pledged_reward


def _intrinsic_value(lines: Sequence[Line], rate: RateRow | None, policy: TaxPolicy) -> Decimal:
    """Goods value before tax, in the campaign's currency.

    With tax-inclusive prices the tax that collection would take out is not part of
    the value. If that net value is above a limit the gross is too, so the test is
    the same whether or not the tax ends up charged."""
    quantum = minor_unit(policy.currency)
    value = ZERO
    for line in lines:
        if line.kind != LineKind.GOODS:
            continue
        amount = line.amount
        if policy.prices_include_tax and rate and rate.goods and _taxes_pledged(policy, line):
            amount -= _tax_of(amount, rate.rate, inclusive=True, quantum=quantum)
        value += amount
    return value


def _threshold_check(
    scheme: LowValueScheme,
    value: Decimal,
    *,
    policy: TaxPolicy,
    exchange_rates: Iterable[ExchangeRateRow],
    on: date,
) -> ThresholdCheck:
    fx = None
    if policy.currency != scheme.currency:
        fx = exchange_rate_in_force(
            exchange_rates, base=policy.currency, quote=scheme.currency, on=on
        )
        if fx is None:
            raise ExchangeRateMissing(
                _(
                    "Set a %(base)s → %(quote)s exchange rate valid on %(day)s: the "
                    "%(scheme)s limit is %(limit)s."
                )
                % {
                    "base": policy.currency,
                    "quote": scheme.currency,
                    "day": on.isoformat(),
                    "scheme": _(scheme.name),
                    "limit": _money(scheme.threshold, scheme.currency),
                }
            )
        value = _round(value * fx.rate, minor_unit(scheme.currency))
    return ThresholdCheck(_(scheme.name), value, scheme.currency, scheme.threshold, fx)


def _threshold_sentence(check: ThresholdCheck, policy: TaxPolicy, value: Decimal) -> str:
    words = {
        "value": _money(check.value, check.currency),
        "limit": _money(check.threshold, check.currency),
        "scheme": check.scheme,
    }
    if check.exchange_rate is not None:
        words["value"] = _("%(converted)s (%(amount)s at %(rate)s from %(day)s)") % {
            "converted": words["value"],
            "amount": _money(value, policy.currency),
            "rate": plain_number(check.exchange_rate.rate),
            "day": check.exchange_rate.valid_from.isoformat(),
        }
    if check.within:
        return (
            _(
                "Goods value %(value)s is within the %(scheme)s limit of %(limit)s "
                "(shipping is not counted)."
            )
            % words
        )
    return (
        _(
            "Goods value %(value)s is above the %(scheme)s limit of %(limit)s "
            "(shipping is not counted)."
        )
        % words
    )


def quote_tax(
    *,
    destination: Destination,
    lines: Sequence[Line],
    policy: TaxPolicy,
    rates: Iterable[RateRow],
    exchange_rates: Iterable[ExchangeRateRow] = (),
    on: date,
    vat_number: str = "",
) -> TaxQuote:
    """The tax on one parcel's lines delivered to `destination`, on the day `on`.

    Raises VatNumberInvalid (field vat_number), ExchangeRateMissing when a limit
    needs a conversion the creator has not set for the day, TaxRateMissing when a
    regime charges tax at checkout but the table has no rate for the destination,
    TaxLineInvalid for a negative amount or an unknown kind."""
    quantum = minor_unit(policy.currency)
    lines = _checked_lines(lines, quantum)
    no_tax = ZERO.quantize(quantum)
    country = destination.country.strip().upper()
    destination = Destination(country, normalize_region(country, destination.region))
    seller = policy.seller_country.strip().upper()
    rate = rate_in_force(list(rates), country=country, region=destination.region, on=on)
    ships = any(line.kind == LineKind.GOODS for line in lines)
    notes: list[str] = []

    compact_vat = ""
    reverse_charge = False
    if vat_number and vat_number.strip():
        compact_vat = validate_vat_number(vat_number)
        if country not in EU_MEMBER_STATES:
            notes.append(_("The VAT number changes nothing outside the EU."))
        elif country.lower() not in eu_vat.guess_country(compact_vat):
            raise VatNumberInvalid(
                _("%(number)s is not a VAT number of the destination country (%(country)s).")
                % {"number": compact_vat, "country": country}
            )
        elif country == seller:
            notes.append(_("The seller is in the same country: VAT is charged to businesses too."))
        else:
            reverse_charge = True

    scheme = _SCHEME_OF.get(country)
    threshold = None
    customs_number = customs_label = ""
    import_vat = ddp = False
    if reverse_charge:
        regime, collect = Regime.REVERSE_CHARGE, False
        notes.insert(0, _("A business customer with a valid VAT number accounts for the VAT."))
        # From outside the EU the business imports the goods and pays import VAT itself.
        import_vat = ships and seller not in EU_MEMBER_STATES
    elif rate is not None and (
        country == seller or (country in EU_MEMBER_STATES and seller in EU_MEMBER_STATES)
    ):
        regime, collect = Regime.DOMESTIC, True
        notes.insert(
            0,
            _("No customs border between the seller (%(seller)s) and %(country)s.")
            % {"seller": seller, "country": country},
        )
    elif scheme is not None and ships:
        value = _intrinsic_value(lines, rate, policy)
        number = getattr(policy, scheme.number_field)
        threshold = _threshold_check(
            scheme, value, policy=policy, exchange_rates=exchange_rates, on=on
        )
        notes.append(_threshold_sentence(threshold, policy, value))
        if threshold.within and number:
            regime, collect = scheme.collected, True
            customs_number, customs_label = number, _(scheme.number_label)
            notes.append(
                _("The %(label)s %(number)s goes on the customs declaration.")
                % {"label": customs_label, "number": number}
            )
        else:
            regime, collect = scheme.imported, False
            if threshold.within:
                notes.append(
                    _("No %(label)s is set, so the tax is not charged at checkout.")
                    % {"label": _(scheme.number_label)}
                )
            if policy.ddp_above_threshold:
                ddp = True
                notes.append(_("Shipped DDP: the creator pays import tax and duty at the border."))
            else:
                import_vat = True
                notes.append(_("The backer pays import tax and duty when the parcel arrives."))
    elif rate is not None:
        regime, collect = Regime.DOMESTIC, True
        notes.insert(
            0,
            _("%(country)s has a rate in the tax rules: it is charged at checkout.")
            % {"country": country}
            if ships
            else _(
                "Nothing is shipped, so no customs: the rate of %(country)s is charged at checkout."
            )
            % {"country": country},
        )
    else:
        regime, collect = Regime.NONE, False
        notes.insert(0, _("No rate in the tax rules for %(country)s.") % {"country": country})

    if collect and rate is None:
        raise TaxRateMissing(
            _("No tax rate for %(country)s in force on %(day)s: add one to the tax rules.")
            % {"country": country, "day": on.isoformat()}
        )

    taxed_lines = []
    for line in lines:
        charged_now = collect if line.kind != LineKind.DIGITAL else not reverse_charge
        taxed = (
            charged_now
            and rate is not None
            and rate.applies_to(line.kind)
            and _taxes_pledged(policy, line)
        )
        if not taxed:
            taxed_lines.append(TaxedLine(line, None, "", line.amount, no_tax, line.amount))
            continue
        tax = _tax_of(line.amount, rate.rate, inclusive=policy.prices_include_tax, quantum=quantum)
        if policy.prices_include_tax:
            taxed_lines.append(
                TaxedLine(line, rate.rate, rate.name, line.amount - tax, tax, line.amount)
            )
        else:
            taxed_lines.append(
                TaxedLine(line, rate.rate, rate.name, line.amount, tax, line.amount + tax)
            )

    if any(t.taxed for t in taxed_lines):
        kinds = [
            label
            for kind, label in (
                (LineKind.GOODS, _("goods")),
                (LineKind.SHIPPING, _("shipping")),
                (LineKind.DIGITAL, _("digital items")),
            )
            if any(t.taxed and t.line.kind == kind for t in taxed_lines)
        ]
        notes.append(
            _("%(name)s at %(rate)s%% on %(kinds)s.")
            % {"name": rate.name, "rate": plain_number(rate.rate), "kinds": ", ".join(kinds)}
        )
        notes.append(
            _("Prices include tax: it is taken out of each price.")
            if policy.prices_include_tax
            else _("Prices exclude tax: it is added to each price.")
        )
    if not collect and any(t.taxed and t.line.kind == LineKind.DIGITAL for t in taxed_lines):
        notes.append(_("Digital items are not imported: their tax is charged at checkout."))
    if not policy.tax_on_pledged_rewards and any(
        line.is_pledged_reward and rate is not None and (collect or line.kind == LineKind.DIGITAL)
        for line in lines
    ):
        notes.append(_("Rewards pledged on the platform are not taxed again."))

    invoice_note = ""
    if reverse_charge:
        invoice_note = _(
            "Reverse charge: VAT to be accounted for by the customer (VAT number %(number)s)."
        ) % {"number": compact_vat}
    return TaxQuote(
        currency=policy.currency,
        destination=destination,
        regime=regime,
        lines=tuple(taxed_lines),
        rate=rate,
        collected_at_checkout=collect,
        import_vat_at_delivery=import_vat,
        ddp=ddp,
        customs_number=customs_number,
        customs_number_label=customs_label,
        threshold=threshold,
        vat_number=compact_vat,
        invoice_note=invoice_note,
        explanation=tuple(notes),
    )
