"""Applying changed service levels to the inquiries: ``sla`` computes due times and
knows nothing of inquiries; when a schedule or policy changes it sends
``sla.signals.levels_changed``, and ``InquiriesConfig.ready`` connects that to
``recompute_open_inquiries`` (enqueued after commit). The task was
``madoguchi.sla.tasks.recompute_open_inquiries`` before; one queued under that name still
runs (``core.worker.MOVED_TASKS``)."""

from __future__ import annotations

from typing import cast

from django_tasks import task

BATCH = 500


@task(queue_name="sla")
def recompute_open_inquiries() -> int:
    """After a schedule or policy changed: new due times for every open inquiry, in
    batches, each in its own short transaction so the console never waits long on it."""
    return recompute_all()


def recompute_all(batch: int = BATCH) -> int:
    from django.db import transaction

    from madoguchi.sla import service

    from .models import OPEN_STATUSES, Inquiry

    count = 0
    last = 0
    while True:
        ids = list(
            Inquiry.objects.filter(status__in=OPEN_STATUSES, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return count
        with transaction.atomic():
            rows = list(
                Inquiry.objects.select_for_update(of=("self",))
                .select_related("category")
                .filter(pk__in=ids)
            )
            for inquiry in rows:
                service.reapply(inquiry)
            _write_sla_fields(rows)
            count += len(rows)
        last = ids[-1]


def _write_sla_fields(rows: list) -> None:
    """One prepared UPDATE executed for many rows: Django's bulk_update builds a CASE
    expression per field and row, which costs milliseconds per row."""
    from django.db import connection
    from django.db.models import Field

    from madoguchi.sla import service

    from .models import Inquiry

    if not rows:
        return
    # The SLA fields are concrete columns of Inquiry (not relations).
    fields = [cast(Field, Inquiry._meta.get_field(name)) for name in service.SLA_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(Inquiry._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608 - names only
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
