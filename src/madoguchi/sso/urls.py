from django.urls import path

from . import views

app_name = "sso"
urlpatterns = [
    path("oidc/login/", views.oidc_login, name="login"),
    path("oidc/callback/", views.oidc_callback, name="callback"),
    path("saml/metadata/", views.saml_metadata, name="saml-metadata"),
    path("saml/login/", views.saml_login, name="saml-login"),
    path("saml/acs/", views.saml_acs, name="saml-acs"),
]
