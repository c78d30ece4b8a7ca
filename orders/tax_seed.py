"""The standard rates every campaign starts from (its own copy, which the creator edits).

(country, region, name, rate %, valid from). A row without a date is in force until
a dated row of the same destination replaces it. All rows apply to goods, shipping
and digital items: in these countries shipping follows the goods it carries.
"""

from datetime import date
from decimal import Decimal

SeedRow = tuple[str, str, str, Decimal, date | None]

# EU-27 standard VAT and the UK: shared/reference/eu-vat-standard-rates.csv, row for row
# (rate and effective_from, and the earlier rate its note gives for DE and IE; Greece
# under its ISO code GR, which VIES writes EL).
EU_AND_UK: list[SeedRow] = [
    ("AT", "", "VAT", Decimal("20"), None),
    ("BE", "", "VAT", Decimal("21"), None),
    ("BG", "", "VAT", Decimal("20"), None),
    ("CY", "", "VAT", Decimal("19"), None),
    ("CZ", "", "VAT", Decimal("21"), None),
    ("DE", "", "VAT", Decimal("16"), date(2020, 7, 1)),  # the note: to 2020-12-31
    ("DE", "", "VAT", Decimal("19"), date(2021, 1, 1)),
    ("DK", "", "VAT", Decimal("25"), None),
    ("EE", "", "VAT", Decimal("24"), date(2025, 7, 1)),
    ("ES", "", "VAT", Decimal("21"), None),
    ("FI", "", "VAT", Decimal("25.5"), date(2024, 9, 1)),
    ("FR", "", "VAT", Decimal("20"), None),
    ("GR", "", "VAT", Decimal("24"), None),
    ("HR", "", "VAT", Decimal("25"), None),
    ("HU", "", "VAT", Decimal("27"), None),
    ("IE", "", "VAT", Decimal("21"), date(2020, 9, 1)),  # the note: to 2021-02-28
    ("IE", "", "VAT", Decimal("23"), date(2021, 3, 1)),
    ("IT", "", "VAT", Decimal("22"), None),
    ("LT", "", "VAT", Decimal("21"), None),
    ("LU", "", "VAT", Decimal("17"), None),
    ("LV", "", "VAT", Decimal("21"), None),
    ("MT", "", "VAT", Decimal("18"), None),
    ("NL", "", "VAT", Decimal("21"), None),
    ("PL", "", "VAT", Decimal("23"), None),
    ("PT", "", "VAT", Decimal("23"), None),
    ("RO", "", "VAT", Decimal("21"), date(2025, 8, 1)),
    ("SE", "", "VAT", Decimal("25"), None),
    ("SI", "", "VAT", Decimal("22"), None),
    ("SK", "", "VAT", Decimal("23"), date(2025, 1, 1)),
    ("GB", "", "VAT", Decimal("20"), None),
]

OTHER: list[SeedRow] = [
    # Norway: general VAT rate (merverdiavgift), Skatteetaten, "Merverdiavgift — satser".
    ("NO", "", "VAT", Decimal("25"), None),
    # Switzerland: standard MWST rate from 2024-01-01 (7.7 % before), Swiss Federal Tax
    # Administration (ESTV), "MWST-Satzerhöhung per 1. Januar 2024".
    ("CH", "", "VAT", Decimal("8.1"), date(2024, 1, 1)),
    # Australia: GST, Australian Taxation Office, "GST" (10 % since its introduction).
    ("AU", "", "GST", Decimal("10"), None),
    # Canada: Canada Revenue Agency, "GST/HST rates" (canada.ca, charge-collect-which-rate).
    # Federal GST 5 % everywhere; the HST provinces charge one harmonized rate that
    # includes it, so their row replaces the country row. Provincial sales taxes (BC,
    # SK and MB PST, Quebec QST) are separate registrations this table does not collect:
    # those provinces get the federal GST row only.
    ("CA", "", "GST", Decimal("5"), None),
    ("CA", "CA-ON", "HST", Decimal("13"), None),
    ("CA", "CA-NB", "HST", Decimal("15"), None),
    ("CA", "CA-NL", "HST", Decimal("15"), None),
    ("CA", "CA-PE", "HST", Decimal("15"), None),
    # Nova Scotia lowered its HST by one point on 2025-04-01.
    ("CA", "CA-NS", "HST", Decimal("15"), None),
    ("CA", "CA-NS", "HST", Decimal("14"), date(2025, 4, 1)),
]

STANDARD_RATES: list[SeedRow] = EU_AND_UK + OTHER
