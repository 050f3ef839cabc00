"""Run the voice application: the callback menu on the queues' entry numbers (see `callbacks.voice.app`)."""

from django.core.management.base import BaseCommand

from callbacks import push
from callbacks.voice import prompts
from callbacks.voice.app import VoiceApp, workdir


class Command(BaseCommand):
    help = "Answer calls to the queues' entry numbers with the callback menu (a baresip Ringback drives)."

    def add_arguments(self, parser):
        parser.add_argument("--prepare", action="store_true", help="Only generate the spoken clips, then stop.")

    def handle(self, *args, prepare=False, **options):
        if prepare:
            count = prompts.prepare()
            self.stdout.write(f"{count} clips ready in {prompts.folder()}")
            return
        push.SERVES_PAGES = False  # routing after the menu's bookings is the server's (see push.pushes_reach_pages)
        VoiceApp(workdir()).run()
