from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per task worker (the embedded thread or a ``madoguchi worker`` process),
    written while it works: every web process reads them for ``/healthz``, whichever
    machine the worker runs on."""

    worker_id = models.CharField(max_length=120, primary_key=True)
    embedded = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    # Consecutive failures of the worker loop (0 while it works) and the last one seen.
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["beat_at"], name="worker_beat_at")]

    def __str__(self) -> str:
        return self.worker_id
