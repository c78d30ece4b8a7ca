"""Beat drives the lock: the notice and the due-lock jobs are scheduled, and the
tasks they name are registered with the worker's app."""

from config.celery import app


def test_beat_schedules_the_lock_notice_and_the_due_locks():
    schedule = app.conf.beat_schedule
    assert schedule["orders-lock-notices"]["task"] == "orders.lock_tasks.send_lock_notices"
    assert schedule["orders-due-locks"]["task"] == "orders.lock_tasks.run_due_locks"


def test_the_scheduled_tasks_are_registered():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks
