from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "madoguchi.chat"
    label = "chat"
    verbose_name = _("Live chat")

    def ready(self) -> None:
        from madoguchi.inquiries.signals import lane_changed

        def on_lane_changed(sender, inquiry, previous, **kwargs):  # noqa: ANN001, ANN202, ARG001
            from .actions import on_lane_changed as chat_on_lane_changed

            chat_on_lane_changed(inquiry)

        lane_changed.connect(on_lane_changed, dispatch_uid="chat.after_lane_changed", weak=False)
