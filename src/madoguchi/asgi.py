import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")

from madoguchi.core.files import private_umask  # noqa: E402

private_umask()  # the data files are the desk's alone, however the server was started

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from madoguchi.core.bodylimit import RequestBodyLimit  # noqa: E402
from madoguchi.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Request size is enforced before Django reads the body (see core/bodylimit.py).
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
