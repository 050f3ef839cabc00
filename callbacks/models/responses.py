"""Standard responses: prewritten text agents read to the customer or put in a note or e-mail."""

import re

from django.db import models

FIELD = re.compile(r"\{(\w+)\}")
FIELDS_HELP = "Fields: {first_name} {last_name} {customer_name} {agent_name} {reference} {phone} {queue}"


class ResponseCategory(models.Model):
    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "response categories"

    def __str__(self) -> str:
        return self.name


class StandardResponse(models.Model):
    category = models.ForeignKey(ResponseCategory, on_delete=models.PROTECT, related_name="responses")
    title = models.CharField(max_length=200)
    body = models.TextField(help_text=FIELDS_HELP)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__order", "title"]

    def __str__(self) -> str:
        return self.title

    def render(self, values: dict[str, str]) -> str:
        """Fill the {fields}; an unknown or empty field stays visible so the agent notices."""
        return FIELD.sub(lambda m: values.get(m.group(1)) or m.group(0), self.body)
