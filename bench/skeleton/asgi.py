"""`daphne bench.skeleton.asgi:application`: the skeleton served on its own (DJANGO_SETTINGS_MODULE=bench.skeleton.settings)."""

import django

django.setup()

from bench.skeleton.app import application  # noqa: E402

__all__ = ["application"]
