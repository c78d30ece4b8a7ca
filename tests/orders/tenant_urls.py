"""Tax URLs for the tenancy test (tests/accounts/test_tenancy.py)."""

from datetime import date
from decimal import Decimal

from orders.models import ExchangeRate, TaxRate


def _slug(o):
    return {"slug": o["campaign"].slug}


URLS = {
    "tax-rules": _slug,
    "tax-rules-seed": _slug,
    "tax-rule-create": _slug,
    "tax-rule-edit": lambda o: {"slug": o["campaign"].slug, "rate_id": o["tax_rate"].pk},
    "tax-rule-delete": lambda o: {"slug": o["campaign"].slug, "rate_id": o["tax_rate"].pk},
    "tax-settings": _slug,
    "tax-exchange-rates": _slug,
    "tax-exchange-rate-delete": lambda o: {
        "slug": o["campaign"].slug,
        "exchange_rate_id": o["exchange_rate"].pk,
    },
    "tax-calculator": _slug,
    "tax-reprice": _slug,
    "tax-reprice-progress": _slug,
}


def build(victim: dict) -> dict:
    campaign = victim["campaign"]
    tax_rate = TaxRate.objects.create(campaign=campaign, country="DE", rate=Decimal("19"))
    exchange_rate = ExchangeRate.objects.create(
        campaign=campaign,
        base_currency=campaign.currency,
        quote_currency="EUR",
        rate=Decimal("0.9"),
        valid_from=date(2026, 1, 1),
    )
    return {"tax_rate": tax_rate, "exchange_rate": exchange_rate}
