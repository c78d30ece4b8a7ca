"""Review rules URLs for the tenancy test (tests/accounts/test_tenancy.py)."""


def _slug(o):
    return {"slug": o["campaign"].slug}


URLS = {
    "order-review-rules": _slug,
    "order-review-rules-recheck": _slug,
}


def build(victim: dict) -> dict:
    return {}
