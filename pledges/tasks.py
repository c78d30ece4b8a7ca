from celery import shared_task

from .services import imports


@shared_task(acks_late=True)
def preview_import_task(run_id: int) -> None:
    imports.run_preview(run_id=run_id)


@shared_task(acks_late=True)
def apply_import_task(run_id: int) -> None:
    imports.run_apply(run_id=run_id)
