from __future__ import annotations

from django_tasks import task


@task(queue_name="sla")
def recompute_open_inquiries() -> int:
    """After a schedule or policy changed: new due times for every open inquiry, in
    batches, each in its own short transaction so the console never waits on it."""
    from django.db import transaction

    from madoguchi.inquiries.models import OPEN_STATUSES, Inquiry

    from . import service

    count = 0
    last = 0
    while True:
        ids = list(
            Inquiry.objects.filter(status__in=OPEN_STATUSES, pk__gt=last).order_by("pk").values_list("pk", flat=True)[:200]
        )
        if not ids:
            return count
        with transaction.atomic():
            for inquiry in Inquiry.objects.select_for_update(of=("self",)).select_related("category").filter(pk__in=ids):
                paused = inquiry.sla_paused_at
                service.apply(inquiry)
                inquiry.sla_paused_at = paused
                service._refresh_due_at(inquiry)
                inquiry.save(update_fields=service.SLA_FIELDS)
                count += 1
        last = ids[-1]
