from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffAuthConfig(AppConfig):
    name = "madoguchi.staffauth"
    label = "staffauth"
    verbose_name = _("Staff sign-in")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .lifetime import stamp_session

        user_logged_in.connect(stamp_session, dispatch_uid="madoguchi.staffauth.stamp_session")
