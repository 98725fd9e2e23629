from madoguchi.calls.routing import websocket_urlpatterns as call_ws
from madoguchi.chat.routing import websocket_urlpatterns as chat_ws
from madoguchi.console.routing import websocket_urlpatterns as console_ws
from madoguchi.intake.routing import websocket_urlpatterns as requester_ws

websocket_urlpatterns = [*console_ws, *requester_ws, *chat_ws, *call_ws]
