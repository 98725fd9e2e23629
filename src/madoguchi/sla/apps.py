from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "madoguchi.sla"
    label = "sla"
    verbose_name = _("Hours and service levels")

    def ready(self) -> None:
        from madoguchi.hours import set_schedule_resolver

        from .schedules import schedule_from_database

        set_schedule_resolver(schedule_from_database)
        from . import signals  # noqa: F401 - connects the receivers
