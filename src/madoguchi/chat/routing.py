from django.urls import path

from .consumers import WidgetConsumer

websocket_urlpatterns = [path("ws/chat/", WidgetConsumer.as_asgi())]  # type: ignore[arg-type]  # django-stubs: path() takes no ASGI app
