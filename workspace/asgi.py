"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from callbacks.consumers import refuse_during_outages  # noqa: E402
from callbacks.dispatcher import with_inprocess_dispatcher  # noqa: E402
from callbacks.push import with_push_loop  # noqa: E402
from callbacks.ws_urls import websocket_urlpatterns  # noqa: E402

application = with_push_loop(
    with_inprocess_dispatcher(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                "websocket": refuse_during_outages(
                    AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
                ),
            }
        )
    )
)
