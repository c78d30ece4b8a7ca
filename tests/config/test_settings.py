import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!Vq2-production-like-secret-key-for-the-deploy-check-0123456789abcdef",
    "ALLOWED_HOSTS": "pledges.example.com",
    "DATABASE_URL": "postgres://pledgeport:secret@db:5432/pledgeport",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def _run(args, extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(extra_env)
    env = {k: v for k, v in env.items() if v is not None}  # None: unset it
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_values():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_database_url_picks_the_database():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = _run(
        ["-c", f"import django; django.setup(); {code}"],
        {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr


def test_default_database_is_a_sqlite_file_in_the_project():
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    env = {"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": None}
    result = _run(["-c", f"import django; django.setup(); {code}"], env)
    assert result.stdout.strip() == str(ROOT / "pledgeport.sqlite3"), result.stderr


def test_tasks_run_eagerly_without_a_broker():
    env = {"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings", "CELERY_BROKER_URL": None}
    code = "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER)"
    result = _run(["-c", f"import django; django.setup(); {code}"], env)
    assert result.stdout.strip() == "True", result.stderr


def test_celery_app_reads_django_settings():
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.task_acks_late is True
    app.loader.import_default_modules()  # what a worker does at start
    assert "accounts.tasks.send_invitation_email" in app.tasks


def test_api_docs_are_served_offline(client, db, django_user_model):
    client.force_login(django_user_model.objects.create_user("api@example.org", "api@example.org"))
    html = client.get("/api/v1/docs/").content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html  # our static files, no CDN
    assert client.get("/api/v1/schema/").status_code == 200


def test_api_docs_and_schema_are_not_public(client, db):
    assert client.get("/api/v1/schema/").status_code in (401, 403)
    assert client.get("/api/v1/docs/").status_code in (401, 403)


def test_healthz_answers_when_the_database_does(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_healthz_answers_probes_on_any_host_name(client, db, settings):
    settings.ALLOWED_HOSTS = ["pledges.example.com"]
    assert client.get("/healthz", HTTP_HOST="localhost:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="localhost:8000").status_code == 400
