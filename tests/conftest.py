import pytest
from django.db import connection

from accounts.models import Role

from .factories import CampaignFactory, MembershipFactory, OrganizationFactory, UserFactory


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
    """Uploaded reports go to a temporary folder, never into the checkout."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttles and cached lookups live in the cache: every test starts without them."""
    from django.core.cache import cache

    cache.clear()


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


def pytest_configure(config):
    from django.conf import settings

    # Hashing strength is not under test; a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests call tasks in-process even where CI exports a broker; the worker
    # integration test sends to Redis through its own producer.
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
