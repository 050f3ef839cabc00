"""Demo data for the embedded run: idempotent, safe to run at every start."""

import os
from datetime import date, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.enums import (
    CallbackState,
    CallbackType,
    CallOutcome,
    Channel,
    FieldFormat,
    HistoryKind,
    Origin,
    PreviewSection,
    RetryAction,
)
from callbacks.lifecycle import CallbackInput
from callbacks.models import (
    Agent,
    AgentChannelStatus,
    ApiClient,
    BusinessCalendar,
    CalendarException,
    CallbackRequest,
    ContactEmail,
    DispositionCode,
    NotReadyReason,
    OpeningHours,
    PreviewField,
    Queue,
    ResponseCategory,
    RetryRule,
    RoutingPoint,
    StandardResponse,
)
from callbacks.models.config import hash_token
from callbacks.roles import ensure_roles
from callbacks.telephony import sip

ADMIN = ("admin", "ringback-admin")
SUPERVISOR = ("sam", "Sam Rivera", ["billing", "support"])
AGENT_PASSWORD = "ringback-demo"
AGENTS = [
    ("alice", "Alice Martin", "Europe/Paris", ["billing", "support"]),
    ("bob", "Bob Okafor", "Europe/London", ["billing", "sales"]),
    ("carol", "Carol Diaz", "America/New_York", ["support"]),
    ("dave", "Dave Chen", "Europe/Paris", ["support", "billing", "sales"]),
]
DEMO_TOKEN = "rb_demo_token_for_local_use_only"
SIP_AGENT = ("phone", "Pat Phone", "Europe/Paris", ["lines"])  # with the browser softphone: the SIP demo's lines


def agents() -> list[tuple[str, str, str, list[str]]]:
    return [*AGENTS, SIP_AGENT] if sip.enabled() else AGENTS


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        with transaction.atomic():
            self._config()
        if not CallbackRequest.objects.exists():
            self._callbacks()
        self._print_logins()

    def _config(self):
        User = get_user_model()
        ensure_roles()
        if not User.objects.filter(username=ADMIN[0]).exists():
            User.objects.create_superuser(ADMIN[0], "admin@ringback.local", ADMIN[1])
        User.objects.get(username=ADMIN[0]).groups.add(Group.objects.get(name=roles.ADMIN))
        # The demo's working queues are open around the clock, so the demo rings whenever it is tried; Sales shows a
        # real office calendar (split days, a Saturday morning, holidays) for the customer's page and the APIs.
        billing, _ = Queue.objects.get_or_create(slug="billing", defaults={"name": "Billing", "gms_service": "billing"})
        support, _ = Queue.objects.get_or_create(
            slug="support", defaults={"name": "Technical Support", "require_disposition": True, "gms_service": "support"}
        )
        office, created = BusinessCalendar.objects.get_or_create(
            name="Office hours (Paris)", defaults={"timezone": "Europe/Paris", "slot_minutes": 30, "slot_capacity": 4}
        )
        if created:
            for weekday in range(5):
                OpeningHours.objects.create(calendar=office, weekday=weekday, opens=time(8), closes=time(12, 30))
                OpeningHours.objects.create(calendar=office, weekday=weekday, opens=time(13, 30), closes=time(20))
            OpeningHours.objects.create(calendar=office, weekday=5, opens=time(9), closes=time(13))
            year = timezone.now().year
            for day, name in [((12, 25), "Christmas Day"), ((1, 1), "New Year's Day"), ((5, 1), "Labour Day")]:
                for y in (year, year + 1):
                    CalendarException.objects.get_or_create(calendar=office, date=date(y, *day), defaults={"name": name})
        sales, _ = Queue.objects.get_or_create(
            slug="sales", defaults={"name": "Sales", "gms_service": "sales", "calendar": office}
        )
        queues = {"billing": billing, "support": support, "sales": sales}
        if sip.enabled():  # the SIP demo (scripts/sipdemo): a queue for its three customer lines, and its agent
            queues["lines"], _ = Queue.objects.get_or_create(
                slug="lines", defaults={"name": "Phone lines (SIP demo)", "ring_seconds": 20}
            )
        for order, name in enumerate(["Break", "Lunch", "Meeting", "Training", "Coaching"]):
            NotReadyReason.objects.get_or_create(name=name, defaults={"order": order})
        for order, (code, label, queue) in enumerate(
            [
                ("resolved", "Resolved", None),
                ("callback-requested", "Customer asked for another callback", None),
                ("no-answer", "No answer", None),
                ("wrong-number", "Wrong number", None),
                ("payment-arranged", "Payment arranged", billing),
                ("escalated", "Escalated to level 2", support),
            ]
        ):
            DispositionCode.objects.get_or_create(queue=queue, code=code, defaults={"label": label, "order": order})
        for section, key, label, fmt, order in [
            (PreviewSection.NOTIFICATION, "reason", "Reason", FieldFormat.TEXT, 1),
            (PreviewSection.NOTIFICATION, "account_number", "Account", FieldFormat.TEXT, 2),
            (PreviewSection.CALLBACK_INFO, "account_number", "Account number", FieldFormat.TEXT, 1),
            (PreviewSection.CALLBACK_INFO, "reason", "Reason for the call", FieldFormat.TEXT, 2),
            (PreviewSection.CALLBACK_INFO, "balance", "Balance due", FieldFormat.MONEY, 3),
            (PreviewSection.CALLBACK_INFO, "vip", "VIP customer", FieldFormat.YES_NO, 4),
            (PreviewSection.CASE_INFO, "order_id", "Order", FieldFormat.TEXT, 1),
            (PreviewSection.CASE_INFO, "reason", "Nature of the request", FieldFormat.TEXT, 2),
        ]:
            PreviewField.objects.get_or_create(section=section, key=key, defaults={"label": label, "format": fmt, "order": order})
        for queue, outcome, action, delay in [
            (billing, CallOutcome.BUSY, RetryAction.RETRY, 5),
            (billing, CallOutcome.ANSWERING_MACHINE, RetryAction.RETRY, 30),
            (billing, CallOutcome.NO_ANSWER, RetryAction.ASK_AGENT, 15),
            (support, CallOutcome.BUSY, RetryAction.ASK_AGENT, 10),
        ]:
            RetryRule.objects.get_or_create(queue=queue, outcome=outcome, defaults={"action": action, "delay_minutes": delay})
        RoutingPoint.objects.get_or_create(name="Billing overflow", defaults={"number": "+33140000001", "queue": billing})
        RoutingPoint.objects.get_or_create(name="Head office reception", defaults={"number": "+33140000000"})
        greetings, _ = ResponseCategory.objects.get_or_create(name="Greetings", defaults={"order": 1})
        billing_cat, _ = ResponseCategory.objects.get_or_create(name="Billing", defaults={"order": 2})
        for category, title, body in [
            (
                greetings,
                "Callback opening",
                "Hello {first_name}, this is {agent_name} from Ringback, calling you back about your request {reference}.",
            ),
            (
                greetings,
                "Voicemail",
                "Hello {first_name}, {agent_name} from Ringback here, returning your call. We will try again shortly.",
            ),
            (
                billing_cat,
                "Refund timeline",
                "Your refund has been approved, {first_name}. It reaches your account within 5 to 7 working days.",
            ),
            (billing_cat, "Payment plan", "We can split the balance into three monthly payments at no extra cost."),
        ]:
            StandardResponse.objects.get_or_create(title=title, defaults={"category": category, "body": body})
        client, created = ApiClient.objects.get_or_create(name="Demo website")
        if created or not client.token_hash:
            client.token_prefix = DEMO_TOKEN[:10]
            client.token_hash = hash_token(DEMO_TOKEN)
            client.save()
        now = timezone.now()
        for username, name, zone, queue_slugs in agents():
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, f"{username}@ringback.local", AGENT_PASSWORD)
            agent, _ = Agent.objects.get_or_create(user=user, defaults={"display_name": name, "timezone": zone})
            agent.queues.add(*[queues[s] for s in queue_slugs])
            user.groups.add(Group.objects.get(name=roles.AGENT))
            for channel in Channel.values:
                AgentChannelStatus.objects.get_or_create(agent=agent, channel=channel, defaults={"since": now})
        username, name, supervised = SUPERVISOR
        sam = User.objects.filter(username=username).first()
        if sam is None:
            first, last = name.split(" ", 1)
            sam = User.objects.create_user(
                username, f"{username}@ringback.local", AGENT_PASSWORD, first_name=first, last_name=last
            )
        sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
        for slug in supervised:
            queues[slug].supervisors.add(sam)

    def _callbacks(self):
        now = timezone.now()
        User = get_user_model()
        seeds = [
            (
                "+33612345678",
                "Camille Laurent",
                "billing",
                CallbackType.IMMEDIATE,
                None,
                "Europe/Paris",
                {"account_number": "FR-20931", "reason": "Double charge on invoice", "balance": "129.90", "vip": "yes"},
                "Customer is driving until 10am.",
            ),
            (
                "+442079460958",
                "Oliver Smith",
                "billing",
                CallbackType.DELAYED,
                None,
                "Europe/London",
                {"account_number": "UK-55310", "reason": "Change of bank details"},
                "",
            ),
            (
                "+14155550123",
                "Maya Patel",
                "support",
                CallbackType.DELAYED_PREVIEW,
                None,
                "America/Los_Angeles",
                {"account_number": "US-77120", "reason": "Router keeps rebooting", "order_id": "ORD-88812"},
                "Prefers English.",
            ),
            (
                "+4930901820",
                "Jonas Weber",
                "support",
                CallbackType.SCHEDULED,
                now + timedelta(hours=3),
                "Europe/Berlin",
                {"reason": "Installation appointment"},
                "Call after lunch.",
            ),
            (
                "+34912345678",
                "Lucía García",
                "billing",
                CallbackType.SCHEDULED,
                now + timedelta(days=1),
                "Europe/Madrid",
                {"account_number": "ES-10021", "reason": "Refund status"},
                "",
            ),
            (
                "+33612340015",
                "Sam Simulator (answers after 5 s)",
                "billing",
                CallbackType.DELAYED,
                None,
                "Europe/Paris",
                {"reason": "Demo: the simulated switch answers by itself"},
                "Simulated number ending 0015.",
            ),
            (
                "+33612340001",
                "Bea Busy (always busy)",
                "billing",
                CallbackType.DELAYED,
                None,
                "Europe/Paris",
                {"reason": "Demo: busy, retried automatically after 5 minutes"},
                "Simulated number ending 0001.",
            ),
            (
                "+390612345678",
                "Nina Rossi",
                "support",
                CallbackType.DELAYED,
                None,
                "Europe/Rome",
                {"reason": "Question about my order", "order_id": "ORD-55102", "account_number": "IT-3321"},
                "Web form: available for the next few hours.",
                Channel.WEB_CALLBACK,
            ),
        ]
        for phone, name, queue, ctype, when, zone, data, instructions, *channel in seeds:
            window = {}
            if channel:  # a web callback: the customer gave an availability window
                start = now.replace(minute=0, second=0, microsecond=0)
                window = {"window_start": start, "window_end": start + timedelta(hours=6)}
            lifecycle.do_create_callback(
                request=CallbackInput(
                    queue=queue,
                    phone_number=phone,
                    customer_name=name,
                    type=ctype,
                    desired_time=when,
                    customer_timezone=zone,
                    data=data,
                    instructions=instructions,
                    origin=Origin.WEB,
                    channel=channel[0] if channel else Channel.VOICE,
                    **window,
                )
            )
        # Worked examples: one in progress (Carol), one completed (Bob), one cancelled, one failed.
        worked = [
            ("+12125550188", "Ethan Brooks", "support", "carol", "keep"),
            ("+447911123456", "Amelia Jones", "billing", "bob", "done"),
        ]
        for phone, name, queue, username, end in worked:
            callback, _ = lifecycle.do_create_callback(
                request=CallbackInput(
                    queue=queue,
                    phone_number=phone,
                    customer_name=name,
                    origin=Origin.IVR,
                    data={"reason": "Billing question", "account_number": "AC-4410"},
                    customer_timezone="America/New_York",
                )
            )
            user = User.objects.get(username=username)
            agent = user.agent
            with transaction.atomic():
                offer = lifecycle.make_offer(
                    callback=CallbackRequest.objects.select_related("queue").get(pk=callback.pk), agent=agent, now=timezone.now()
                )
            interaction = lifecycle.do_accept_offer(user=user, offer_id=offer.pk)
            if end == "done":
                lifecycle.do_mark_done(user=user, interaction_id=interaction.pk)
        ContactEmail.objects.get_or_create(
            contact=CallbackRequest.objects.get(phone_number="+12125550188").contact, address="ethan.brooks@example.com"
        )
        ContactEmail.objects.get_or_create(
            contact=CallbackRequest.objects.get(phone_number="+33612345678").contact, address="camille.laurent@example.com"
        )
        cancelled, _ = lifecycle.do_create_callback(
            request=CallbackInput(
                queue="billing",
                phone_number="+33798765432",
                customer_name="Hugo Bernard",
                type=CallbackType.SCHEDULED,
                desired_time=now + timedelta(hours=5),
                customer_timezone="Europe/Paris",
                origin=Origin.MOBILE,
            )
        )
        lifecycle.do_cancel_callback(reference=cancelled.reference, reason="Customer cancelled from the app")
        failed, _ = lifecycle.do_create_callback(
            request=CallbackInput(
                queue="support",
                phone_number="+3225551234",
                customer_name="Emma Peeters",
                type=CallbackType.SCHEDULED,
                desired_time=now + timedelta(hours=6),
                customer_timezone="Europe/Brussels",
                origin=Origin.IVR,
            )
        )
        # Demo data only: a past failure is written as it would have ended, not replayed through the switch.
        with transaction.atomic():
            CallbackRequest.objects.filter(pk=failed.pk).update(
                state=CallbackState.FAILED, attempts=3, outcome="Attempts exhausted: no answer", closed_at=now
            )
            lifecycle.record(HistoryKind.FAILED, "Attempts exhausted: no answer (demo data)", callback=failed)

    def _print_logins(self):
        self.stdout.write("")
        url = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}/"
        self.stdout.write(f"  Ringback demo logins ({url})")
        self.stdout.write(f"    admin:  {ADMIN[0]} / {ADMIN[1]}   (Django admin at /admin/, every queue's board at /board/)")
        username, name, supervised = SUPERVISOR
        self.stdout.write(
            f"    supervisor: {username} / {AGENT_PASSWORD}   {name}, live board at /board/: {', '.join(supervised)}"
        )
        for username, name, _, queues in agents():
            self.stdout.write(f"    agent:  {username} / {AGENT_PASSWORD}   {name}, queues: {', '.join(queues)}")
        self.stdout.write(f"    API token (Demo website): {DEMO_TOKEN}")
        self.stdout.write(f"    customer's page: {url}request/sales/   GMS: {url}genesys/1/service/callback/billing")
        self.stdout.write("")
