"""A changed schedule or policy recomputes open inquiries' due times in the background."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from madoguchi.core.clock import now

from .models import BusinessSchedule, ChannelHours, SlaPolicy, SlaTarget


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
    from .tasks import recompute_open_inquiries

    service.forget_policies()
    schedules.forget()
    transaction.on_commit(lambda: recompute_open_inquiries.enqueue(), robust=True)
