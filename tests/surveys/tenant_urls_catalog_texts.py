"""Catalog translation URL for the tenancy test (tests/accounts/test_tenancy.py):
another organization's people get 404 on it."""


def _slug(o):
    return {"slug": o["campaign"].slug}


URLS = {
    "survey-translations": _slug,
}


def build(victim: dict) -> dict:
    """Nothing of its own: the page needs only the victim's campaign (its survey is
    made by the other survey modules; tests/surveys/test_catalog_texts.py checks an
    outsider's POST changes no text)."""
    return {}
