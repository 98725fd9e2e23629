from django.urls import path

from .consumers import OperatorCallConsumer, RequesterCallConsumer

websocket_urlpatterns = [
    path("ws/call/", RequesterCallConsumer.as_asgi()),  # type: ignore[arg-type]  # django-stubs: path() takes no ASGI app
    path("ws/call/op/", OperatorCallConsumer.as_asgi()),  # type: ignore[arg-type]
]
