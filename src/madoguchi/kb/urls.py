from django.urls import path

from . import views

urlpatterns = [
    path("", views.faq, name="faq"),
    path("suggest/", views.suggestions, name="faq-suggest"),
    path("<slug:topic>/", views.article, name="faq-article"),
    path("<slug:topic>/feedback/", views.feedback, name="faq-feedback"),
]
