"""Celery application.

Without CELERY_BROKER_URL the settings turn on eager mode, so tasks run
in-process and the demo needs nothing but Python.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pledgeport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="lock_tasks")  # orders/lock_tasks.py

# Periodic work (run `celery -A config beat` next to the workers).
app.conf.beat_schedule.update(
    {
        "survey-reminders": {
            "task": "surveys.tasks.send_due_reminders",
            "schedule": 15 * 60,
        },
        # Orders: the notice 48 hours before a campaign's lock date, then the lock.
        "orders-lock-notices": {
            "task": "orders.lock_tasks.send_lock_notices",
            "schedule": 15 * 60,
        },
        "orders-due-locks": {
            "task": "orders.lock_tasks.run_due_locks",
            "schedule": 5 * 60,
        },
    }
)
