"""REST API v1: the callbacks' and queues' operations (`callbacks`), the integrator's webhooks (`webhooks`), and a
person's data for Admin clients (`privacy`)."""

from .callbacks import api
from .privacy import router as privacy
from .webhooks import document
from .webhooks import router as webhooks

api.add_router("/webhooks", webhooks)
api.add_router("/privacy", privacy)
api.webhooks = document()

__all__ = ["api"]
