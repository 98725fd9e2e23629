from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.clock import now


class ExternalIdentity(models.Model):
    """One person at one identity provider, bound to one desk account.

    Found again by (issuer, key) only: the mail address and the name are copies of what
    the provider said last, so a changed address never makes a second person."""

    issuer = models.CharField(_("issuer"), max_length=255)
    key = models.CharField(_("stable key"), max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="external_identities",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("mail address"), blank=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    groups = models.JSONField(_("groups and roles"), default=list, blank=True)
    first_seen = models.DateTimeField(_("first signed in"), default=now)
    last_seen = models.DateTimeField(_("last signed in"), default=now)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "key"], name="sso_identity_issuer_key")
        ]

    def __str__(self) -> str:
        return f"{self.email or self.key} ({self.issuer})"
