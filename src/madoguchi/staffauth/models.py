from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TOTPDevice(models.Model):
    """A staff member's confirmed authenticator (one per account). The secret is sealed
    (``sealing.seal``, bound to the user's id); ``last_step`` is the latest time step whose
    code was accepted, so no code is accepted twice."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="totp_device",
        verbose_name=_("user"),
    )
    sealed_secret = models.CharField(max_length=200)
    last_step = models.BigIntegerField(default=0)
    confirmed_at = models.DateTimeField(_("enrolled at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("two-factor enrolment")
        verbose_name_plural = _("two-factor enrolments")

    def __str__(self) -> str:
        return str(self.user)


class RecoveryCode(models.Model):
    """One single-use recovery code, kept as an HMAC (``totp.hash_recovery_code``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"], name="recoverycode_user_hash")]

    def __str__(self) -> str:
        return f"{self.user_id}: {'used' if self.used_at else 'unused'}"
