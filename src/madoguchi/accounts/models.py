from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.i18n import LANG_CHOICES


class Tier(models.TextChoices):
    NONE = "", pgettext_lazy("staff tier", "Not staff")
    STUDENT = "student", pgettext_lazy("staff tier", "Student staff")
    FACULTY = "faculty", pgettext_lazy("staff tier", "Faculty staff")


class User(AbstractUser):
    """A person who signs in: student staff, faculty staff or an administrator.

    Requesters do not need accounts; they reach their inquiry through a signed link.
    ``is_staff`` (Django admin access) is for administrators only; the desk tier decides
    what a staff member may see in the console.
    """

    tier = models.CharField(
        _("staff tier"), max_length=16, choices=Tier.choices, blank=True, default=""
    )
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=LANG_CHOICES, default="ja"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username
