from importlib import import_module

from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "callbacks"
    verbose_name = "Ringback"

    def ready(self) -> None:
        # Loaded once the app registry is ready (they import models): the roles kept after migrate, the admin audit.
        import_module(f"{self.name}.roles").connect(self)
        import_module(f"{self.name}.audit").connect()
        import_module(f"{self.name}.configuration")  # forgets the configuration every process keeps when a row changes
