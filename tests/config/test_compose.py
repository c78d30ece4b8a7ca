"""No Docker engine runs here: check the compose file by reading it."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_names_every_service():
    assert set(_compose()["services"]) == {"postgres", "redis", "web", "worker", "beat"}


def test_app_services_share_one_image_and_the_real_services():
    services = _compose()["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert services[name]["image"] == "pledgeport:latest"
        assert "media:/app/media" in services[name]["volumes"]
        # uploaded backer reports: a volume of their own, never served
        assert "private:/app/private" in services[name]["volumes"]
        assert env["PRIVATE_MEDIA_ROOT"] == "/app/private"
    assert "celery" in services["worker"]["command"] and "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_web_migrates_before_serving_and_everything_waits_for_health():
    services = _compose()["services"]
    assert services["web"]["command"].index("migrate") < services["web"]["command"].index(
        "gunicorn"
    )
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_volumes_keep_the_database_and_media():
    compose = _compose()
    assert {"pgdata", "media", "private"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_dockerfile_installs_from_the_lock_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    assert "collectstatic" in dockerfile
