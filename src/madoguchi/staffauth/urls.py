from django.urls import path

from . import views

app_name = "staffauth"

urlpatterns = [
    path("login/code/", views.code_step, name="code"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/enrol/", views.enrol, name="enrol"),
]
