from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import identity, lifecycle, outbound, twofactor
from .enums import Channel
from .errors import DomainError
from .lifecycle.privacy import do_erase_person, do_export_person, summary
from .models import (
    WEBHOOK_EVENTS,
    Agent,
    AgentChannelStatus,
    ApiClient,
    BusinessCalendar,
    CalendarException,
    Call,
    CallbackRequest,
    CallParty,
    CallRecording,
    Consultation,
    Contact,
    ContactEmail,
    ContactPhone,
    DispositionCode,
    Effect,
    EmailInteraction,
    EntryNumber,
    FavoriteTarget,
    HistoryEvent,
    IdempotencyRecord,
    Interaction,
    LineReport,
    MonitoringSession,
    Note,
    NotReadyReason,
    NumberCheck,
    Offer,
    OpeningHours,
    PreviewField,
    Queue,
    QueueHour,
    ReportSubscription,
    ResponseCategory,
    RetentionPolicy,
    RetryRule,
    RollupMark,
    RoutingPoint,
    RoutingRule,
    SmsOptOut,
    StandardResponse,
    TextInteraction,
    TextMessage,
    VoiceSession,
    WebhookDelivery,
    WebhookSubscription,
    person_name,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RecordAdmin(admin.ModelAdmin):
    """Records written by the lifecycle (offers, interactions, history, calls): viewable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HistoryInline(ReadOnlyInline):
    model = HistoryEvent
    fields = ["at", "kind", "message", "agent", "actor"]
    readonly_fields = fields
    ordering = ["-at"]


class OfferInline(ReadOnlyInline):
    model = Offer
    fields = ["agent", "outcome", "created_at", "deadline", "ended_at"]
    readonly_fields = fields


class RetryRuleInline(admin.TabularInline):
    model = RetryRule
    extra = 0


class EntryNumberInline(admin.TabularInline):
    model = EntryNumber
    extra = 0
    verbose_name = "voice entry number"
    verbose_name_plural = "Voice entry numbers: callers ask for a callback on the phone"


class RetentionInline(admin.StackedInline):
    """The queue's own retention, where it differs from the global defaults (Retention policies)."""

    model = RetentionPolicy
    max_num = 1
    extra = 0
    verbose_name = "retention (where it differs from the global defaults)"


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    inlines = [RetryRuleInline, EntryNumberInline, RetentionInline]
    list_display = [
        "name",
        "slug",
        "gms_service",
        "active",
        "calendar",
        "offer_timeout_seconds",
        "on_accept",
        "default_max_attempts",
    ]
    list_filter = ["active", "require_disposition", "on_accept", "calendar"]
    search_fields = ["name", "slug", "gms_service"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["calendar", "reject_queue", "timeout_queue", "reject_point", "timeout_point"]
    filter_horizontal = ["supervisors"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "active", "gms_service", "gms_options", "calendar"]}),
        (
            "Offers and work",
            {
                "fields": [
                    "offer_timeout_seconds",
                    "on_accept",
                    "ring_seconds",
                    "monitoring_shown",
                    "default_max_attempts",
                    "require_disposition",
                    "after_call_work_seconds",
                    "personal_grace_minutes",
                    "reminder_minutes",
                ]
            },
        ),
        ("Call recording", {"fields": ["recording_policy", "recording_notice"]}),
        ("Intake limits", {"fields": ["max_queued", "daily_requests_per_number"]}),
        (
            "The customer's confirmation and reminder",
            {
                "fields": ["customer_notices", "verify_numbers"],
                "description": "In the customer's language. A text fits one SMS where the language allows, and names a "
                "short link to the customer's page; a number that texted STOP gets no more texts.",
            },
        ),
        (
            "Dial plan and caller ID",
            {
                "fields": ["dial_allowed_prefixes", "dial_blocked_prefixes", "caller_id", "caller_id_name"],
                "description": "Numbers this queue's agents may reach (calls, transfers, consultations, conferences), "
                "and the number their customers see. Premium-rate and fraud-prone ranges are always blocked. After a "
                "change of prefixes, run “manage.py sip_config” again so that kamailio applies them too; the caller "
                "ID applies from the next call.",
            },
        ),
        (
            "Voice: the menu and who is called first",
            {
                "fields": ["menu_wait_seconds", "menu_offers_times", "dial_mode", "customer_hold_seconds"],
                "description": "What callers hear on the queue's entry numbers (below): the estimated wait, then 1 to be "
                "called back at their own number, 2 for another number, 3 for a time, * to hear it again. Customer "
                "first: Ringback calls the customer (“This is Billing returning your call: press 1 to be connected, "
                "2 for another time”) and offers agents only customers on the line.",
            },
        ),
        ("Supervision", {"fields": ["supervisors", "service_level_seconds"]}),
        (
            "After Reject or an unanswered offer",
            {
                "description": "Where the callback goes next: its own queue unless a queue or a routing point is named.",
                "fields": [("reject_queue", "reject_point"), ("timeout_queue", "timeout_point")],
            },
        ),
    ]


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class CalendarExceptionInline(admin.TabularInline):
    model = CalendarException
    extra = 0


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(RecordAdmin):
    """The answers kept for Idempotency-Key retries (a day): read-only."""

    list_display = ["key", "api_client", "status", "created_at"]
    list_filter = ["api_client", "status"]
    search_fields = ["key"]


@admin.register(LineReport)
class LineReportAdmin(RecordAdmin):
    """What the softphone's page and the SIP proxy reported of each call, once per report id: read-only."""

    list_display = ["call_ref", "event", "code", "source", "received_at"]
    list_filter = ["source", "event"]
    search_fields = ["call_ref", "report_id"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["calendar", "weekday", "opens", "closes"]
    list_filter = ["calendar", "weekday"]
    search_fields = ["calendar__name"]


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    """Holidays and special days across every calendar."""

    list_display = ["date", "name", "calendar", "closed", "opens", "closes"]
    list_filter = ["calendar", "closed"]
    search_fields = ["name", "calendar__name"]
    date_hierarchy = "date"


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    """Weekly hours (several ranges a day, overnight allowed), holidays and exceptions, and the slots customers book."""

    inlines = [OpeningHoursInline, CalendarExceptionInline]
    list_display = ["name", "timezone", "slot_minutes", "slot_capacity", "week"]
    search_fields = ["name"]

    @admin.display(description="This week")
    def week(self, obj: BusinessCalendar) -> str:
        return "; ".join(str(h) for h in obj.hours.all()) or "Closed every day"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("hours")


@admin.register(NotReadyReason)
class NotReadyReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "active"]
    list_editable = ["order", "active"]
    search_fields = ["name"]


@admin.register(DispositionCode)
class DispositionCodeAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "queue", "order", "active", "note_required"]
    list_filter = ["queue", "active"]
    search_fields = ["label", "code"]
    autocomplete_fields = ["queue"]


@admin.register(PreviewField)
class PreviewFieldAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "section", "queue", "channel", "order", "format", "active"]
    list_filter = ["section", "channel", "queue", "active"]
    search_fields = ["label", "key"]
    autocomplete_fields = ["queue"]


class WebhookInline(ReadOnlyInline):
    model = WebhookSubscription
    fields = ["url", "events", "active", "created_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "role", "token_prefix", "created_at", "last_used_at"]
    list_filter = ["active", "role"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at"]
    inlines = [WebhookInline]
    actions = ["rotate_token"]

    def save_model(self, request, obj, form, change):
        token = obj.issue_token() if not obj.token_hash else None
        super().save_model(request, obj, form, change)
        if token:
            messages.warning(request, f"Token for {obj.name} (shown once, copy it now): {token}")

    @admin.action(description="Issue a new token (the old one stops working)")
    def rotate_token(self, request, queryset):
        for client in queryset:
            token = client.issue_token()
            client.save()
            messages.warning(request, f"New token for {client.name} (shown once): {token}")


class WebhookForm(forms.ModelForm):
    """The same checks as the API's: a public http(s) URL, known events (none: every one)."""

    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in WEBHOOK_EVENTS], widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookSubscription
        fields = ["api_client", "url", "events", "active"]

    def clean_url(self):
        try:
            return outbound.check(self.cleaned_data["url"])
        except outbound.Refused as refusal:
            raise forms.ValidationError(str(refusal)) from None

    def clean_events(self):
        return lifecycle.webhooks.checked_events(self.cleaned_data["events"])


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Integrations' webhooks (they manage their own through the API: /api/v1/webhooks)."""

    form = WebhookForm
    list_display = ["api_client", "url", "active", "created_at"]
    list_filter = ["active", "api_client"]
    search_fields = ["url", "api_client__name"]
    autocomplete_fields = ["api_client"]
    readonly_fields = ["previous_secret_until", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:  # it hears of what happens from now on, not the client's whole past
            obj.cursor = HistoryEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        super().save_model(request, obj, form, change)


@admin.register(TextMessage)
class TextMessageAdmin(RecordAdmin):
    """Texts sent to customers (confirmations, reminders) and received from them (replies, STOP)."""

    list_display = ["created_at", "direction", "number", "kind", "status", "callback"]
    list_filter = ["direction", "status", "kind"]
    search_fields = ["number", "body", "callback__reference", "provider_id"]
    list_select_related = ["callback"]
    raw_id_fields = ["callback", "contact"]
    date_hierarchy = "created_at"


@admin.register(TextInteraction)
class TextInteractionAdmin(RecordAdmin):
    """Text conversations agents opened from the Party Action Menu (the texts themselves are Text messages)."""

    list_display = ["created_at", "agent", "number", "sent", "closed_at", "callback"]
    list_filter = ["agent"]
    search_fields = ["number", "callback__reference", "agent__display_name"]
    list_select_related = ["agent", "callback"]
    raw_id_fields = ["callback", "contact", "interaction"]
    date_hierarchy = "created_at"


@admin.register(NumberCheck)
class NumberCheckAdmin(RecordAdmin):
    """Codes texted to numbers typed on the customer's page (the code itself is never stored)."""

    list_display = ["created_at", "number", "queue", "tries", "expires_at", "confirmed_at"]
    list_filter = ["queue"]
    search_fields = ["number"]
    exclude = ["token_hash", "code_hash"]
    date_hierarchy = "created_at"


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    """Numbers that texted STOP: no text goes to them until they text START (or an admin removes them here, on the
    customer's word)."""

    list_display = ["number", "opted_out_at", "keyword"]
    search_fields = ["number"]
    readonly_fields = ["opted_out_at", "keyword"]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RecordAdmin):
    """Each event sent to a webhook, the answers it got (the effect row holds its tries)."""

    list_display = ["created_at", "subscription", "event_type", "effect", "replay_of"]
    list_filter = ["event_type"]
    search_fields = ["subscription__url", "subscription__api_client__name"]
    list_select_related = ["subscription__api_client", "effect"]
    raw_id_fields = ["subscription", "effect", "replay_of"]
    date_hierarchy = "created_at"


class AgentStatusInline(ReadOnlyInline):
    model = AgentChannelStatus
    fields = ["channel", "enabled", "status", "reason", "since"]
    readonly_fields = fields


class AgentForm(forms.ModelForm):
    """The agent's profile, and the channels they work: a status row per channel says so (`callbacks.channels`)."""

    channels_worked = forms.MultipleChoiceField(
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The channels this agent goes Ready on and is offered work from. Unticking one logs them out of it.",
    )

    class Meta:
        model = Agent
        fields = ["user", "display_name", "timezone", "language", "queues"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels_worked"].initial = self.instance.enabled_channels() if self.instance.pk else Channel.values


class WorksChannelFilter(admin.SimpleListFilter):
    title = "works channel"
    parameter_name = "works"

    def lookups(self, request, model_admin):
        return Channel.choices

    def queryset(self, request, queryset):
        if self.value() in Channel.values:
            return queryset.exclude(statuses__channel=self.value(), statuses__enabled=False)
        return queryset


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    list_display = ["display_name", "user", "timezone", "language", "channels"]
    list_filter = ["queues", WorksChannelFilter]
    search_fields = ["display_name", "user__username"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["queues"]
    inlines = [AgentStatusInline]

    @admin.display(description="channels worked")
    def channels(self, agent: Agent) -> str:
        return ", ".join(Channel(c).label for c in agent.enabled_channels())

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Admin saves inside its own transaction; the lifecycle's actions run in their own, once the profile is in.
        worked = form.cleaned_data["channels_worked"]
        transaction.on_commit(lambda: lifecycle.do_set_channels_worked(agent_id=obj.pk, channels=worked, actor=request.user))


@admin.register(AgentChannelStatus)
class AgentChannelStatusAdmin(admin.ModelAdmin):
    list_display = ["agent", "channel", "status", "reason", "since"]
    list_filter = ["channel", "status"]
    search_fields = ["agent__display_name"]
    readonly_fields = ["agent", "channel", "status", "reason", "since"]

    def has_add_permission(self, request):
        return False


class PhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 0


class EmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 0


class PersonForm(forms.Form):
    number = forms.CharField(label=_("Phone number"), required=False, max_length=40)
    email = forms.EmailField(label=_("E-mail address"), required=False)
    confirm = forms.BooleanField(
        label=_("Erase: I understand this cannot be undone"), required=False, help_text=_("Needed to erase, not to export.")
    )

    def clean(self):
        data = super().clean()
        if not data.get("number") and not data.get("email"):
            raise ValidationError(gettext("Give a phone number or an e-mail address."))
        return data


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "timezone", "created_at"]
    search_fields = ["first_name", "last_name", "phones__number", "emails__address"]
    inlines = [PhoneInline, EmailInline]
    actions = ["export_data"]

    def get_urls(self):
        page = path("person-data/", self.admin_site.admin_view(self.person_data), name="callbacks_person_data")
        return [page, *super().get_urls()]

    def person_data(self, request):
        """A person's data on request (Admin role): export it as a zip, or erase it, found by number or e-mail."""
        if not request.user.has_perm("callbacks.personal_data"):
            raise PermissionDenied
        form = PersonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            number, email = form.cleaned_data["number"], form.cleaned_data["email"]
            try:
                if "erase" in request.POST:
                    if not form.cleaned_data["confirm"]:
                        raise DomainError(gettext("Tick the box to confirm the erasure."), status=400)
                    erasure = do_erase_person(number=number, email=email, by=person_name(request.user), actor=request.user)
                    if erasure.erased:
                        messages.success(request, gettext("Erased: %(what)s.") % {"what": summary(erasure.counts)})
                    else:
                        messages.info(request, gettext("Nothing to erase: already erased, or never known."))
                else:
                    return zip_response(
                        do_export_person(number=number, email=email, by=person_name(request.user), actor=request.user)
                    )
            except DomainError as error:
                messages.error(request, error.message)
        context = {**self.admin_site.each_context(request), "title": gettext("A person's data"), "form": form, "opts": self.opts}
        return TemplateResponse(request, "admin/callbacks/person_data.html", context)

    @admin.action(description=_("Export the selected contact's data (a zip)"), permissions=["personal_data"])
    def export_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Select one contact to export."), messages.WARNING)
            return None
        contact = queryset.get()
        phone, address = contact.phones.first(), contact.emails.first()
        try:
            archive = do_export_person(
                number=phone.number if phone else "",
                email=address.address if address and not phone else "",
                by=person_name(request.user),
                actor=request.user,
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        return zip_response(archive)

    def has_personal_data_permission(self, request) -> bool:
        return request.user.has_perm("callbacks.personal_data")


def zip_response(archive: bytes) -> HttpResponse:
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="person-data.zip"'
    return response


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    """The global defaults (the row without a queue) and each queue's own, where it differs."""

    list_display = [
        "__str__",
        "callbacks_days",
        "history_days",
        "emails_days",
        "notes_days",
        "texts_days",
        "recordings_days",
        "updated_at",
    ]
    autocomplete_fields = ["queue"]
    search_fields = ["queue__name"]


@admin.register(CallbackRequest)
class CallbackRequestAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "phone_number",
        "customer_name",
        "queue",
        "channel",
        "type",
        "state",
        "priority",
        "desired_time",
        "attempts",
        "created_at",
    ]
    list_filter = ["state", "queue", "channel", "type", "origin", "language"]
    search_fields = ["reference", "phone_number", "customer_name"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["queue", "contact"]
    readonly_fields = [
        "reference",
        "state",
        "enqueued_at",
        "attempts",
        "outcome",
        "closed_at",
        "created_at",
        "updated_at",
        "api_client",
    ]
    inlines = [OfferInline, HistoryInline]
    list_select_related = ["queue"]


@admin.register(Offer)
class OfferAdmin(RecordAdmin):
    list_display = ["callback", "agent", "channel", "outcome", "created_at", "deadline", "ended_at"]
    list_filter = ["outcome", "channel"]
    search_fields = ["callback__reference", "agent__display_name"]
    list_select_related = ["callback", "agent"]


@admin.register(Interaction)
class InteractionAdmin(RecordAdmin):
    list_display = ["pk", "callback", "agent", "channel", "state", "closing_reason", "created_at", "ended_at"]
    list_filter = ["state", "channel", "closing_reason"]
    search_fields = ["callback__reference", "agent__display_name"]
    list_select_related = ["callback", "agent"]


@admin.register(HistoryEvent)
class HistoryEventAdmin(RecordAdmin):
    list_display = ["at", "kind", "message", "callback", "agent", "actor"]
    list_filter = ["kind"]
    search_fields = ["message", "callback__reference"]
    list_select_related = ["callback", "agent", "actor"]
    date_hierarchy = "at"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Effect)
class EffectAdmin(RecordAdmin):
    """The outbox: every switch command and e-mail, whether it was performed, and its last error."""

    list_display = ["created_at", "kind", "status", "attempts", "max_attempts", "callback", "agent", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "callback__reference", "last_error"]
    list_select_related = ["callback", "agent"]
    date_hierarchy = "created_at"


@admin.register(EmailInteraction)
class EmailInteractionAdmin(RecordAdmin):
    """E-mail interactions agents started from the Party Action Menu: drafts, and what the outbox did with them."""

    list_display = ["created_at", "agent", "to", "subject", "state", "sent_at", "closed_at", "callback"]
    list_filter = ["state"]
    search_fields = ["to", "subject", "callback__reference", "agent__display_name"]
    list_select_related = ["agent", "callback"]
    raw_id_fields = ["callback", "contact", "interaction", "effect"]
    date_hierarchy = "created_at"


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["created_at", "callback", "author", "text"]
    search_fields = ["text", "callback__reference"]
    list_select_related = ["callback", "author"]
    readonly_fields = ["callback", "interaction", "author", "text", "created_at"]


@admin.register(ContactPhone)
class ContactPhoneAdmin(admin.ModelAdmin):
    list_display = ["number", "label", "contact"]
    search_fields = ["number", "contact__first_name", "contact__last_name"]
    autocomplete_fields = ["contact"]
    list_select_related = ["contact"]


@admin.register(ContactEmail)
class ContactEmailAdmin(admin.ModelAdmin):
    list_display = ["address", "label", "contact"]
    search_fields = ["address", "contact__first_name", "contact__last_name"]
    autocomplete_fields = ["contact"]
    list_select_related = ["contact"]


@admin.register(RetryRule)
class RetryRuleAdmin(admin.ModelAdmin):
    list_display = ["queue", "outcome", "action", "delay_minutes"]
    list_filter = ["queue", "outcome", "action"]
    search_fields = ["queue__name"]
    autocomplete_fields = ["queue"]


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0
    fields = ["order", "condition", "minutes", "starts", "ends", "queue"]
    autocomplete_fields = ["queue"]


@admin.register(RoutingPoint)
class RoutingPointAdmin(admin.ModelAdmin):
    """A switch number and Team Communicator target; its rules, tried in order, choose the queue a callback lands in."""

    inlines = [RoutingRuleInline]
    list_display = ["name", "number", "queue", "active"]
    list_filter = ["active", "queue"]
    search_fields = ["name", "number"]
    autocomplete_fields = ["queue"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["point", "order", "condition", "minutes", "starts", "ends", "queue"]
    list_filter = ["point", "condition"]
    search_fields = ["point__name", "queue__name"]
    autocomplete_fields = ["point", "queue"]


class PartyInline(ReadOnlyInline):
    model = CallParty
    fields = ["label", "agent", "number", "joined_at", "left_at"]
    readonly_fields = fields


@admin.register(Call)
class CallAdmin(RecordAdmin):
    list_display = [
        "switch_ref",
        "number",
        "callback",
        "attempt",
        "state",
        "outcome",
        "started_at",
        "connected_at",
        "ended_at",
        "hold_seconds",
    ]
    list_filter = ["state", "outcome"]
    search_fields = ["switch_ref", "number", "callback__reference"]
    list_select_related = ["callback"]
    inlines = [PartyInline]


@admin.register(CallParty)
class CallPartyAdmin(RecordAdmin):
    list_display = ["label", "call", "agent", "number", "state", "asked_at", "joined_at", "left_at"]
    list_filter = ["state"]
    search_fields = ["label", "number", "call__switch_ref", "line_ref"]
    list_select_related = ["call", "agent"]


@admin.register(Consultation)
class ConsultationAdmin(RecordAdmin):
    list_display = ["call", "from_agent", "to_agent", "label", "state", "created_at", "ended_at"]
    list_filter = ["state"]
    search_fields = ["from_agent__display_name", "to_agent__display_name", "number", "call__switch_ref", "line_ref"]
    list_select_related = ["call", "from_agent", "to_agent"]


@admin.register(MonitoringSession)
class MonitoringSessionAdmin(RecordAdmin):
    list_display = ["supervisor", "agent", "call", "mode", "started_at", "ended_at", "end_reason"]
    list_filter = ["mode", "end_reason"]
    search_fields = ["supervisor__username", "agent__display_name", "call__switch_ref"]
    list_select_related = ["supervisor", "agent", "call"]
    autocomplete_fields = ["agent"]
    exclude = ["token"]  # the one-time secret of the monitoring call: never shown


@admin.register(FavoriteTarget)
class FavoriteTargetAdmin(admin.ModelAdmin):
    list_display = ["agent", "label", "target"]
    search_fields = ["agent__display_name", "label"]
    autocomplete_fields = ["agent"]


class ResponseInline(admin.StackedInline):
    model = StandardResponse
    extra = 0


@admin.register(ResponseCategory)
class ResponseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    list_editable = ["order"]
    search_fields = ["name"]
    inlines = [ResponseInline]


@admin.register(StandardResponse)
class StandardResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "active"]
    list_filter = ["category", "active"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["category"]


@admin.register(VoiceSession)
class VoiceSessionAdmin(admin.ModelAdmin):
    """Calls to the entry numbers, as the voice menu took them: read-only (the menu writes them)."""

    list_display = ["arrived_at", "direction", "caller", "dialled", "queue", "line", "outcome", "ended_at", "callback"]
    list_filter = ["direction", "outcome", "queue"]
    search_fields = ["caller", "dialled", "call_id"]
    date_hierarchy = "arrived_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EntryNumber)
class EntryNumberAdmin(admin.ModelAdmin):
    """Every queue's voice entry numbers in one list (each queue's page has its own)."""

    list_display = ["number", "queue", "language", "active"]
    list_filter = ["active", "language", "queue"]
    search_fields = ["number", "queue__name"]
    autocomplete_fields = ["queue"]


@admin.register(CallRecording)
class CallRecordingAdmin(admin.ModelAdmin):
    """Recorded calls: read-only (the desk and the switch write them; retention deletes their audio). Played and
    downloaded from the callback's page on the board, where each time is in the trail."""

    list_display = ["started_at", "callback", "agent", "state", "seconds", "ended_at", "deleted_at"]
    list_filter = ["state", "callback__queue"]
    search_fields = ["callback__reference"]
    date_hierarchy = "started_at"
    exclude = ["audio", "switch_state"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PasswordOnlyAdminLoginForm(AdminAuthenticationForm):
    """Django admin's own sign-in asks for a password only: an account that signs in with a second factor (or must
    set one up first) is sent to Ringback's sign-in page, which asks for it. Wrong passwords still count (django-axes)."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not identity.may_use_password(user):
            raise ValidationError(identity.password_refusal(), code="single_sign_on")
        if twofactor.has_second_factor(user) or twofactor.must_enrol(user):
            raise ValidationError(
                gettext("This account signs in with a second factor: sign in on Ringback's sign-in page (/login/)."),
                code="second_factor",
            )


admin.site.login_form = PasswordOnlyAdminLoginForm


@admin.register(QueueHour)
class QueueHourAdmin(RecordAdmin):
    """The analytics rollup, one row per queue and hour (docs/analytics.md): settled by the clock, never edited;
    `manage.py rollup_analytics --rebuild` counts it again."""

    list_display = ["queue", "hour", "requested", "on_time", "late", "missed", "handled"]
    list_filter = ["queue"]
    date_hierarchy = "hour"
    search_fields = ["queue__name"]


@admin.register(RollupMark)
class RollupMarkAdmin(RecordAdmin):
    """How far the analytics rollup is settled."""

    list_display = ["name", "settled_to", "updated_at"]
    search_fields = ["name"]


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    """Supervisors' daily and weekly e-mails of their queues' figures: an admin sees them and can stop one."""

    list_display = ["user", "frequency", "language", "next_send_at", "last_sent_at"]
    list_filter = ["frequency", "language"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["next_send_at", "last_sent_at", "created_at"]

    def has_add_permission(self, request):
        return False
