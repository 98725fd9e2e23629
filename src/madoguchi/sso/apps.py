from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "madoguchi.sso"
    label = "sso"
    verbose_name = _("Single sign-on")

    def ready(self) -> None:
        from . import config

        config.current()  # a wrong mapping stops the start, not the first sign-in
        config.saml()
