from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiriesConfig(AppConfig):
    name = "madoguchi.inquiries"
    label = "inquiries"
    verbose_name = _("Inquiries")

    def ready(self) -> None:
        from django.db import transaction

        from madoguchi.sla.signals import levels_changed

        def on_levels_changed(sender, **kwargs):  # noqa: ANN001, ANN202, ARG001
            from .sla_tasks import recompute_open_inquiries

            transaction.on_commit(lambda: recompute_open_inquiries.enqueue(), robust=True)

        levels_changed.connect(
            on_levels_changed, dispatch_uid="inquiries.recompute_due_times", weak=False
        )
