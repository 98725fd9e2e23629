from django.urls import path

from .consumers import RequesterConsumer

websocket_urlpatterns = [path("ws/requester/<str:token>/", RequesterConsumer.as_asgi())]  # type: ignore[arg-type]  # django-stubs: path() takes no ASGI app
