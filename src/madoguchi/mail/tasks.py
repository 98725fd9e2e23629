from __future__ import annotations

from django_tasks import task

from . import outbox


@task(queue_name="mail")
def deliver_outbound_mail(mail_id: int) -> str:
    return outbox.deliver(mail_id)


@task(queue_name="mail")
def sweep_outbox() -> int:
    return outbox.sweep()
