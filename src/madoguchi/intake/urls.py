from django.urls import path

from . import signin, views

urlpatterns = [
    path("", views.portal, name="portal"),
    path("form/", views.inquiry_form, name="inquiry-form"),
    path("form/sensitive/", views.sensitive_form, name="sensitive-form"),
    path("form/done/", views.form_done, name="form-done"),
    path("t/<str:token>/", views.requester_thread, name="requester-thread"),
    path(
        "t/<str:token>/files/<int:attachment_id>/",
        views.requester_attachment,
        name="requester-attachment",
    ),
    path("signin/", signin.signin, name="requester-signin"),
    path("my/", views.my_inquiries, name="my-inquiries"),
    path("consent/<str:token>/", views.handback_consent, name="handback-consent"),
]
