from django.apps import AppConfig


class SwitchSimConfig(AppConfig):
    name = "callbacks.telephony.simulator"
    label = "switchsim"
    verbose_name = "Simulated switch"
