"""REST API v1: the callbacks' and queues' operations (`callbacks`), and the integrator's webhooks (`webhooks`)."""

from .callbacks import api
from .webhooks import document
from .webhooks import router as webhooks

api.add_router("/webhooks", webhooks)
api.webhooks = document()

__all__ = ["api"]
