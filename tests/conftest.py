import os
import re
import time

import pytest
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.models import Role

from .factories import CampaignFactory, MembershipFactory, OrganizationFactory, UserFactory

# Properties are about results, never about time (bench/ measures speed): on a busy
# 2-core machine a draw that waits for the CPU must not fail a test.
hypothesis_settings.register_profile(
    "pledgeport", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("pledgeport")


def pytest_collection_modifyitems(config, items):
    """`postgres` tests need the production database; on SQLite they are skipped
    with a reason that `-ra` prints."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… to run it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    """Uploads (reports, logos) go to a temporary folder of the test, never into the
    checkout, so tests running side by side (pytest -n) never share a file."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttles and cached lookups live in the cache, catalogs and survey host names
    in this process: every test starts without them (a test database reuses ids, so a catalog kept from an
    earlier test could pass for another campaign's)."""
    from django.core.cache import cache

    from inventory import bom
    from surveys import middleware

    cache.clear()
    bom.forget_cached()
    # A fresh test database has no survey on its own host name. Start every test
    # with that table loaded, so its once-a-minute query never lands in a test's
    # query count depending on which test ran before it in the same process.
    middleware._table, middleware._loaded_at = {}, time.monotonic()


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def organization(db):
    return OrganizationFactory()


def member(organization, role):
    return MembershipFactory(organization=organization, role=role).user


@pytest.fixture
def owner(organization):
    return member(organization, Role.OWNER)


@pytest.fixture
def campaign(organization):
    return CampaignFactory(organization=organization)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(client, db):
    """A logged-in owner of a different organization."""
    other = OrganizationFactory()
    user = MembershipFactory(organization=other, role=Role.OWNER, user=UserFactory()).user
    client.force_login(user)
    return client


def worker_redis_url(url: str, *, avoid: str = "") -> str:
    """`url` (redis://host:port/db) moved to a Redis database of this pytest-xdist
    worker: gw0 keeps it, gw1 takes the next free number, and so on, skipping the
    database of `avoid` (the broker). Outside xdist the URL is returned unchanged."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    match = re.fullmatch(r"(redis://[^/]*)/(\d+)", url)
    if not worker.startswith("gw") or not match:
        return url
    base, db = match.group(1), int(match.group(2))
    taken = re.fullmatch(r"redis://[^/]*/(\d+)", avoid)
    free = [n for n in range(db, 16) if not taken or n != int(taken.group(1))]
    return f"{base}/{free[int(worker[2:]) % len(free)]}"


def _cache_per_worker(settings):
    """The tests clear the cache before each test (FLUSHDB on Redis): with several
    xdist workers each one needs a Redis database of its own, or one worker wipes
    another's throttles and cached host table in the middle of a test."""
    default = settings.CACHES["default"]
    location = default.get("LOCATION")
    if "redis" not in default["BACKEND"].lower() or not isinstance(location, str):
        return
    moved = worker_redis_url(location, avoid=settings.CELERY_BROKER_URL)
    if moved != location:
        from django.test.utils import override_settings

        # override_settings resets the cache handler (django.test.signals).
        override_settings(CACHES={"default": {**default, "LOCATION": moved}}).enable()


def pytest_configure(config):
    from django.conf import settings

    # Hashing strength is not under test; a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _cache_per_worker(settings)
    # Tests call tasks in-process even where CI exports a broker; the worker
    # integration test sends to Redis through its own producer.
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
