from django.contrib import admin

from .models import SimCall


@admin.register(SimCall)
class SimCallAdmin(admin.ModelAdmin):
    list_display = ["call_ref", "number", "line", "next_event", "due_at", "created_at"]
    list_filter = ["line"]
    search_fields = ["call_ref", "number"]
    readonly_fields = ["call_ref", "token", "number", "line", "next_event", "due_at", "keyed_by_agent", "log", "created_at"]
