from django.core.management.base import BaseCommand

from callbacks.callbackstate import markdown_table


class Command(BaseCommand):
    help = "Print the callback lifecycle table (generated from callbacks/callbackstate.py) as Markdown, for the lifecycle page (docs/lifecycle.md)."

    def handle(self, *args, **options):
        self.stdout.write(markdown_table())
