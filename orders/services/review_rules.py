"""The creator's review rules: which orders wait for a person to look (`manual_review`).

Pure functions over plain values, so the single build and the bulk build apply the
same rules without a query per order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..models import PaymentSettings, ReviewRules, TaxSettings

# Carriers that refuse PO boxes refuse parcel lockers too. Words as backers write
# them, in the languages of the usual destinations; a bare "Box" or "BP" counts only
# with a number after it ("Box 123" is a Swedish PO box, "Boxhagener Str." is not).
_PO_BOX = re.compile(
    r"""
    \bp\.?\s*o\.?\s*box\b                      # PO Box, P.O. Box, P O Box
    | \bpost\s*office\s*box\b
    | \bpob\s*\d                               # POB 12
    | \bbox\s*\#?\s*\d                         # Box 123 (SE, US)
    | \bgpo\s*box\b | \bpo\s*bag\b | \blocked\s*bag\b | \bprivate\s*bag\b   # AU, NZ
    | \bparcel\s*locker\b
    | postfach                                 # DE, AT, CH
    | packstation | paketstation | postfiliale | \bpaketshop\b
    | \bpostbus\b                              # NL
    | \bpostboks\b | \bpostbox\b               # NO, DK
    | \bbo[iî]te\s*postale\b | \bb\.?\s*p\.?\s*\d   # FR: boîte postale, BP 12
    | \bcase\s*postale\b                       # CH, CA (French)
    | \bapartado\s*(de\s*correos|postal)?\s*\d? # ES, MX
    | \bcasilla\s*(de\s*correo)?\s*\d          # AR, CL
    | \bcaixa\s*postal\b                       # BR, PT
    | \bcasella\s*postale\b                    # IT
    | \bskrytka\s*pocztowa\b | paczkomat       # PL
    | \bpostilokero\b                          # FI
    | 私書箱 | 郵便私書箱                      # JP
    | 邮政信箱                                 # CN
    """,
    re.IGNORECASE | re.VERBOSE,
)


def looks_like_po_box(street_address: str) -> bool:
    """Whether a street address names a PO box or a parcel locker (any line)."""
    return bool(street_address) and _PO_BOX.search(street_address) is not None


@dataclass(frozen=True)
class Rules:
    """A campaign's review rules as plain values (None: no rules set)."""

    value_above: Decimal | None = None
    countries: frozenset[str] = frozenset()
    refuse_po_boxes: bool = False
    # Campaign settings the build needs too: tax inside the prices (the order's total
    # does not add it again), and cards charged at lock (no payment_due hold then).
    prices_include_tax: bool = False
    charge_at_lock: bool = False

    def digest(self) -> str:
        return (
            f"{self.value_above}|{','.join(sorted(self.countries))}|{self.refuse_po_boxes}"
            f"|{self.prices_include_tax}|{self.charge_at_lock}"
        )


def rules_of(*, campaign_id: int) -> Rules:
    settings = {
        "prices_include_tax": TaxSettings.objects.filter(
            campaign_id=campaign_id, prices_include_tax=True
        ).exists(),
        "charge_at_lock": PaymentSettings.objects.filter(
            campaign_id=campaign_id, charge_at_lock=True
        ).exists(),
    }
    rules = ReviewRules.objects.filter(campaign_id=campaign_id).first()
    if rules is None:
        return Rules(**settings)
    return Rules(
        value_above=rules.value_above.amount if rules.value_above is not None else None,
        countries=frozenset(str(code).strip().upper() for code in rules.countries or ()),
        refuse_po_boxes=rules.refuse_po_boxes,
        **settings,
    )


def review_reasons(*, rules: Rules, total: Decimal, country: str, street_address: str) -> list[str]:
    """Why this order needs a look, one phrase per rule it meets (empty: none)."""
    reasons = []
    if rules.value_above is not None and total > rules.value_above:
        reasons.append(f"Order value {total} above {rules.value_above}")
    if country and country.upper() in rules.countries:
        reasons.append(f"Destination {country.upper()} always reviewed")
    if rules.refuse_po_boxes and looks_like_po_box(street_address):
        reasons.append("PO box or parcel locker address")
    return reasons
