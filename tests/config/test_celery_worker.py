"""A real Celery worker process, a real Redis broker and the real test database:
the task's effect must show up in the database."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from celery import Celery
from django.db import connection

from accounts.models import Invitation, Role

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = quote(s["USER"] or "", safe="")
    password = quote(s["PASSWORD"] or "", safe="")
    return (
        f"postgres://{user}:{password}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


@pytest.fixture
def broker():
    if not BROKER.startswith("redis://") or not _redis_reachable(BROKER):
        if os.environ.get("PLEDGEPORT_REQUIRE_SERVICES"):
            pytest.fail(f"Redis is required here but {BROKER} does not answer")
        pytest.skip(f"no Redis server reachable at {BROKER}")
    return BROKER


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_invitation_and_records_it(broker, tmp_path, organization):
    invitation = Invitation.objects.create(
        organization=organization, email="worker@example.org", role=Role.MANAGER
    )
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DEBUG": "true",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": f"filemail://{tmp_path}",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        producer = Celery("probe", broker=broker)
        producer.send_task(
            "accounts.tasks.send_invitation_email", args=[invitation.pk], queue=queue
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            invitation.refresh_from_db()
            if invitation.sent_at or worker.poll() is not None:
                break
            time.sleep(0.3)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert invitation.sent_at is not None, output
    assert "succeeded" in output
    mails = list(tmp_path.iterdir())
    assert len(mails) == 1
    assert "worker@example.org" in mails[0].read_text()
