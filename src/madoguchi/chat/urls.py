from django.urls import path

from . import views

urlpatterns = [
    path("", views.page, name="chat-page"),
    path("embed/", views.embed, name="chat-embed"),
    path("upload/", views.upload, name="chat-upload"),
    path("files/<int:attachment_id>/", views.download, name="chat-file"),
]
