import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from madoguchi.core.bodylimit import RequestBodyLimit  # noqa: E402
from madoguchi.core.origins import DeskOriginValidator  # noqa: E402
from madoguchi.routing import websocket_urlpatterns  # noqa: E402
from madoguchi.staffauth.lifetime import SessionLifetimeWebsocketMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Request size is enforced before Django reads the body (see core/bodylimit.py).
        "http": RequestBodyLimit(django_asgi_app),
        # Exactly the desk's own origin: scheme, host and port (see core/origins.py). A
        # session past its lifetime is anonymous at connect (staffauth/lifetime.py).
        # django-stubs types path() with no ASGI app (see routing.py): hence the ignore
        "websocket": DeskOriginValidator(
            AuthMiddlewareStack(
                SessionLifetimeWebsocketMiddleware(
                    URLRouter(websocket_urlpatterns)  # type: ignore[arg-type]
                )
            )
        ),
    }
)

# What is loaded by now (Django, the apps, their modules) lives as long as the process:
# move it out of the cyclic collector's reach, so that its full collections do not walk
# hundreds of thousands of objects and pause every socket of the process for that time.
import gc  # noqa: E402

gc.collect()
gc.freeze()
