"""A changed schedule or policy recomputes open inquiries' due times in the background:
the caches are dropped here and ``levels_changed`` is sent, which inquiries listen to (so
sla need not import them; see ``inquiries.sla_tasks``)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from madoguchi.core.clock import now

from .models import BusinessSchedule, ChannelHours, SlaPolicy, SlaTarget

# Sent inside the transaction that changed a schedule, a policy, a target or channel hours
# (no arguments): every open inquiry's due times may have changed.
levels_changed = Signal()


@receiver(post_save, sender=BusinessSchedule)
def _schedule_saved(sender, instance, **kwargs):  # noqa: ANN001, ANN202
    # updated_at is the cache key of the compiled schedule.
    if instance.updated_at < now():
        BusinessSchedule.objects.filter(pk=instance.pk).update(updated_at=now())
    _recompute()


@receiver([post_save, post_delete], sender=SlaPolicy)
@receiver([post_save, post_delete], sender=SlaTarget)
@receiver([post_save, post_delete], sender=ChannelHours)
def _policy_changed(sender, **kwargs):  # noqa: ANN001, ANN202
    _recompute()


def _recompute() -> None:
    from . import schedules, service

    service.forget_policies()
    schedules.forget()
    levels_changed.send(sender=None)
