"""Callback analytics (issue #29): a known history, every figure counted by hand, and the rollup the clock keeps
agreeing with a recount after a clock-driven day."""

import email
import email.policy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from callbacks import analytics
from callbacks.enums import CallbackState, CallbackType, CallOutcome, CallState, CloseReason, InteractionState, Origin
from callbacks.lifecycle import clock
from callbacks.models import Call, CallbackRequest, Interaction, QueueHour, RollupMark, VoiceOutcome, VoiceSession

from .factories import make_agent, make_queue

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 12, 1, tzinfo=UTC)


def t(hhmm: str, day: datetime = DAY) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return day + timedelta(hours=hours, minutes=minutes)


class History:
    """Rows written as the lifecycle would have left them, at chosen times."""

    def __init__(self):
        self.billing = make_queue("billing", name="Billing", promise_minutes=15)
        self.support = make_queue("support", name="Support", promise_minutes=30)
        self.agent = make_agent("alice", self.billing, self.support)
        self.calls = 0

    def callback(self, queue, created: str, *, origin=Origin.API, desired: str | None = None, closed=None):
        callback = CallbackRequest.objects.create(
            queue=queue,
            phone_number="+33612345678",
            origin=origin,
            type=CallbackType.SCHEDULED if desired else CallbackType.IMMEDIATE,
            desired_time=t(desired) if desired else None,
            state=CallbackState.QUEUED,
        )
        CallbackRequest.objects.filter(pk=callback.pk).update(created_at=t(created))
        if closed:
            reason, at = closed
            state = CallbackState.COMPLETED if reason == CloseReason.DONE else CallbackState.CANCELLED
            CallbackRequest.objects.filter(pk=callback.pk).update(state=state, close_reason=reason, closed_at=t(at))
        return callback

    def interaction(self, callback, created: str, ended: str) -> Interaction:
        return Interaction.objects.create(
            callback=callback,
            agent=self.agent,
            channel="voice",
            state=InteractionState.DONE,
            created_at=t(created),
            ended_at=t(ended),
        )

    def dial(self, interaction, started: str, ended: str, outcome: str, connected: str | None = None) -> Call:
        self.calls += 1
        return Call.objects.create(
            interaction=interaction,
            callback=interaction.callback,
            switch_ref=f"CALL-{self.calls}",
            number="+33612345678",
            state=CallState.ENDED,
            outcome=outcome,
            started_at=t(started),
            connected_at=t(connected) if connected else None,
            ended_at=t(ended),
        )

    def menu(self, queue, ended: str, outcome: str) -> None:
        VoiceSession.objects.create(
            call_id=f"menu-{VoiceSession.objects.count()}",
            line="ivr-1",
            queue=queue,
            dialled="+33184880000",
            arrived_at=t(ended) - timedelta(minutes=1),
            ended_at=t(ended),
            outcome=outcome,
        )


@pytest.fixture
def history(transactional_db):
    h = History()
    # Billing (promise: 15 minutes).
    a = h.callback(h.billing, "09:05", closed=(CloseReason.DONE, "09:52"))  # as soon as possible
    first = h.interaction(a, "09:09", "09:12")
    h.dial(first, "09:10", "09:11", CallOutcome.NO_ANSWER)  # 5 min after the request: on time
    second = h.interaction(a, "09:39", "09:52")
    h.dial(second, "09:40", "09:50", CallOutcome.AGENT_HANGUP, connected="09:41")
    b = h.callback(h.billing, "08:30", origin=Origin.WEB, desired="10:00", closed=(CloseReason.EXPIRED, "12:00"))
    h.dial(h.interaction(b, "10:19", "10:22"), "10:20", "10:21", CallOutcome.BUSY)  # 20 min late
    c = h.callback(h.billing, "08:40", origin=Origin.IVR, desired="10:00", closed=(CloseReason.DONE, "10:06"))
    h.dial(h.interaction(c, "09:57", "10:06"), "09:58", "10:05", CallOutcome.REMOTE_HANGUP, connected="09:59")  # early
    h.callback(h.billing, "09:30", origin=Origin.MOBILE, closed=(CloseReason.EXPIRED, "11:00"))  # never dialled: missed
    h.callback(h.billing, "09:45", closed=(CloseReason.CANCELLED, "09:50"))  # the customer cancelled
    h.menu(h.billing, "09:20", VoiceOutcome.HUNG_UP)
    h.menu(h.billing, "09:20", VoiceOutcome.BOOKED)
    h.menu(h.billing, "09:20", VoiceOutcome.LEFT)
    h.menu(h.billing, "10:15", VoiceOutcome.NO_INPUT)
    # Support (promise: 30 minutes).
    f = h.callback(h.support, "09:00", closed=(CloseReason.DONE, "10:41"))
    h.dial(h.interaction(f, "09:49", "09:52"), "09:50", "09:51", CallOutcome.ANSWERING_MACHINE)  # 50 min: late
    h.dial(h.interaction(f, "10:29", "10:41"), "10:30", "10:40", CallOutcome.AGENT_HANGUP, connected="10:31")
    return h


def test_every_figure_of_a_known_history_by_hand(history):
    result = analytics.analytics([history.billing, history.support], DAY, DAY + timedelta(days=1), ZoneInfo("UTC"))
    billing, support = result.by_queue[history.billing.pk], result.by_queue[history.support.pk]

    assert billing.requested == 5 and dict(billing.by_origin) == {"api": 2, "web": 1, "ivr": 1, "mobile": 1}
    # On time: A (5 min after it was asked), C (2 min early); late: B (20 min); missed: the expired, undialled one.
    assert (billing.on_time, billing.late, billing.missed) == (2, 1, 1) and billing.on_time_rate == 0.5
    assert dict(billing.lateness) == {"0-5": 1, "early": 1, "15-30": 1}
    assert billing.asap_dialled == 1 and billing.average_wait_to_dial == 300  # A: 09:05 → 09:10
    assert billing.asap_connected == 1 and billing.average_wait_to_connect == 36 * 60  # A: 09:05 → 09:41
    assert (billing.successes, billing.attempts_per_success) == (2, 1.5)  # A in two dials, C in one
    assert dict(billing.dials) == {"no_answer": 1, "connected": 2, "busy": 1}
    assert dict(billing.closed) == {"done": 2, "cancelled": 1, "expired": 2}
    assert (billing.expired, billing.cancelled) == (2, 1)
    assert (billing.menu_abandoned, billing.menu_left, billing.menu_booked) == (2, 1, 1)
    assert billing.handled == 4 and billing.average_handle_seconds == (180 + 780 + 180 + 540) / 4

    assert (support.on_time, support.late, support.missed) == (0, 1, 0) and dict(support.lateness) == {"30-60": 1}
    assert support.average_wait_to_dial == 50 * 60 and support.average_wait_to_connect == 91 * 60
    assert (support.successes, support.success_attempts) == (1, 2)
    assert dict(support.dials) == {"answering_machine": 1, "connected": 1}

    total = result.total
    assert total.requested == 6 and total.on_time_rate == 2 / 5 and total.handled == 6
    assert [h for h, f in enumerate(result.by_hour_of_day) if f.requested] == [8, 9]
    assert result.by_hour_of_day[9].requested == 4 and result.by_hour_of_day[10].late == 1
    assert [(d.isoformat(), f.requested) for d, f in result.by_day] == [("2026-12-01", 6)]


def test_the_period_and_the_viewers_zone_decide_the_hours_and_days(history):
    # New York: 09:05 UTC is 04:05 there; the day is theirs.
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 12, 1, tzinfo=zone)
    result = analytics.analytics([history.billing], start, start + timedelta(days=1), zone)
    assert result.by_hour_of_day[4].requested == 3 and result.by_hour_of_day[3].requested == 2
    # Only the morning, UTC: the closes of 11:00 and 12:00 are outside it.
    morning = analytics.analytics([history.billing], DAY, t("11:00"), ZoneInfo("UTC")).by_queue[history.billing.pk]
    assert morning.missed == 0 and dict(morning.closed) == {"done": 2, "cancelled": 1}


def test_the_clocks_rollup_agrees_with_a_recount_after_a_day(history):
    clock.ROLLUP.reset()
    moment = t("08:00")
    with time_machine.travel(moment, tick=False) as traveller:
        while moment < t("08:00", DAY + timedelta(days=1)):
            clock.do_roll_up_analytics(now=moment)
            moment += timedelta(minutes=5)
            traveller.move_to(moment)
    clock.ROLLUP.reset()
    mark = RollupMark.objects.get(name=analytics.MARK)
    assert mark.settled_to == t("06:00", DAY + timedelta(days=1)), "settled up to the hour that ended an hour ago"
    settled = {(r.queue_id, r.hour): analytics.Figures.from_columns(r).columns() for r in QueueHour.objects.all()}
    recounted = {key: f.columns() for key, f in analytics.recount(t("00:00"), t("00:00", DAY + timedelta(days=1))).items()}
    assert settled == recounted and len(settled) == 7  # billing 8h–12h, support 9h–10h
    # The page reads the rollup: the same figures as a recount, and no recount of settled hours.
    result = analytics.analytics([history.billing, history.support], DAY, DAY + timedelta(days=1), ZoneInfo("UTC"))
    assert (
        result.total.columns()
        == analytics.Figures().add(result.by_queue[history.billing.pk]).add(result.by_queue[history.support.pk]).columns()
    )
    assert sum(f.requested for f in result.by_hour_of_day) == sum(f.requested for _, f in result.by_day) == 6
    assert result.by_hour_of_day[9].requested == 4 and result.by_hour_of_day[10].late == 1, "summed by the database"
    midnight = datetime(2026, 12, 1, tzinfo=ZoneInfo("Europe/Paris"))
    paris = analytics.analytics([history.billing], midnight, midnight + timedelta(days=1), ZoneInfo("Europe/Paris"))
    assert paris.by_hour_of_day[10].requested == 3 and [d.isoformat() for d, _ in paris.by_day] == ["2026-12-01"]
    assert result.by_queue[history.billing.pk].on_time_rate == 0.5


def test_a_second_process_skips_while_one_settles_and_a_rebuild_counts_the_same(history):
    with time_machine.travel(t("08:00", DAY + timedelta(days=1)), tick=False):
        assert analytics.roll_up() > 0
        before = sorted((r.queue_id, r.hour, r.requested, r.on_time) for r in QueueHour.objects.all())
        assert analytics.roll_up() == 0, "nothing new to settle"
        assert analytics.rebuild() > 0
        assert sorted((r.queue_id, r.hour, r.requested, r.on_time) for r in QueueHour.objects.all()) == before


@pytest.mark.parametrize(
    ("minutes", "bucket"),
    [(-30, "early"), (0, "early"), (0.5, "0-5"), (5, "0-5"), (14, "5-15"), (29, "15-30"), (61, "60-120"), (500, "120+")],
)
def test_lateness_buckets(minutes, bucket):
    assert analytics.lateness_bucket(minutes) == bucket


# --- The page and the CSV a supervisor opens ---


def page_of(client, user, query: str = "from=2026-12-01&to=2026-12-01"):
    client.force_login(user)
    return client.get(f"/reports/analytics/?{query}")


def test_a_supervisor_sees_their_queues_figures_and_the_same_in_the_csv(client, history, django_assert_num_queries):
    from callbacks import roles

    from .test_monitoring import supervisor

    roles.ensure_roles()
    sam = supervisor("sam", history.billing)  # Billing only: Support's callback is not his
    client.force_login(sam)
    client.get("/reports/analytics/")  # signed in: the session and the login's bookkeeping are behind us
    # The user and their permissions, their queues, the rollup's mark and 7 live counts (nothing settled yet), the
    # queues of the filter, their report subscriptions: whatever the volume, a page is these statements.
    with django_assert_num_queries(15):
        page = client.get("/reports/analytics/?from=2026-12-01&to=2026-12-01")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="on-time-rate">50' in html and 'data-testid="requested">5<' in html
    assert 'data-testid="dials-per-success">1.5<' in html and 'data-testid="wait-to-dial">5:00<' in html

    client.force_login(sam)
    csv = client.get("/reports/analytics.csv?from=2026-12-01&to=2026-12-01&by=queue")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode().splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    cells = dict(zip(header, row, strict=True))
    assert len(lines) == 2 and cells["queue"] == "Billing"
    assert (cells["requested"], cells["on_time"], cells["late"], cells["missed"], cells["on_time_pct"]) == (
        "5",
        "2",
        "1",
        "1",
        "50.0",
    )
    assert (cells["dials_connected"], cells["dials_busy"], cells["lateness_15-30"], cells["origin_web"]) == ("2", "1", "1", "1")
    by_hour = b"".join(client.get("/reports/analytics.csv?from=2026-12-01&to=2026-12-01&by=hour").streaming_content)
    assert len(by_hour.decode().splitlines()) == 25, "a row for each hour of the day"


def test_the_page_refuses_what_it_cannot_show(client, history):
    from callbacks import roles

    from .test_monitoring import supervisor

    roles.ensure_roles()
    sam = supervisor("sam", history.billing)
    assert page_of(client, sam, f"queue={history.support.pk}").status_code == 400, "not his queue"
    assert page_of(client, sam, "from=yesterday").status_code == 400
    assert page_of(client, sam, "from=2020-01-01&to=2026-01-01").status_code == 400, "over 400 days"
    client.force_login(sam)
    assert client.get("/reports/analytics.csv?by=week").status_code == 400
    assert page_of(client, history.agent.user).status_code == 403, "an agent"
    client.logout()
    assert client.get("/reports/analytics/").status_code == 302, "to the sign-in page"


# --- Scheduled reports, sent over real SMTP ---


def test_a_supervisor_subscribes_and_gets_yesterdays_figures_by_email_once_in_their_language(
    client, history, settings, smtp_server
):
    from callbacks import roles
    from callbacks.lifecycle import reports
    from callbacks.models import Effect, HistoryEvent, ReportSubscription

    from .factories import worker
    from .test_monitoring import supervisor

    host, port = smtp_server.server_address
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": host, "port": port}}
    }
    settings.TIME_ZONE = "UTC"
    roles.ensure_roles()
    sam = supervisor("sam", history.billing)
    client.force_login(sam)
    with time_machine.travel(t("15:00"), tick=False):  # the afternoon of the history's day, in French
        answer = client.post("/reports/subscriptions/", {"frequency": "daily"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert answer.status_code == 302 and answer["Location"].endswith("#reports-by-email")
    subscription = ReportSubscription.objects.get(user=sam)
    assert subscription.language == "fr" and subscription.next_send_at == t("07:00", DAY + timedelta(days=1))
    assert HistoryEvent.objects.filter(actor=sam, message__contains="subscribed to the daily report").exists()

    clock.REPORTS.reset()
    assert clock.do_send_due_reports(now=t("06:59", DAY + timedelta(days=1))) == 0, "not before 07:00"
    clock.REPORTS.reset()
    assert clock.do_send_due_reports(now=t("07:00", DAY + timedelta(days=1))) == 1
    clock.REPORTS.reset()
    assert reports.do_send_reports(now=t("07:30", DAY + timedelta(days=1))) == 0, "once a day"
    worker()
    assert Effect.objects.get().key == f"report:{subscription.pk}:20261201"
    assert len(smtp_server.messages) == 1
    mail = email.message_from_string(smtp_server.messages[0], policy=email.policy.default)
    assert mail["To"] == "sam@example.com"
    assert mail["Subject"] == "Ringback : vos chiffres de rappel du mardi 1 décembre"
    text = mail.get_content()
    assert "À l'heure : 50 % (2 à l'heure, 1 en retard, 1 manqués)" in text, text
    assert "Demandés : 5" in text and "Appels par succès : 1,5" in text
    assert "- Billing : 5 demandés, 50 % à l'heure, 4 traités" in text and "Support" not in text, "Sam's queue only"
    assert "http://127.0.0.1:8000/reports/analytics/?from=2026-12-01&to=2026-12-01" in text
    subscription.refresh_from_db()
    assert subscription.next_send_at == t("07:00", DAY + timedelta(days=2)) and subscription.last_sent_at is not None


def test_reports_are_for_supervisors_with_an_address_and_only_their_own_can_be_stopped(client, history):
    from callbacks import roles
    from callbacks.models import ReportSubscription

    from .test_monitoring import supervisor

    roles.ensure_roles()
    client.force_login(history.agent.user)
    assert client.post("/reports/subscriptions/", {"frequency": "daily"}).status_code == 403
    nobody = supervisor("nina", history.billing)
    nobody.email = ""
    nobody.save()
    client.force_login(nobody)
    refused = client.post("/reports/subscriptions/", {"frequency": "daily"})
    assert refused.status_code == 400 and "no e-mail address" in refused.content.decode()
    sam = supervisor("sam", history.billing)
    client.force_login(sam)
    assert client.post("/reports/subscriptions/", {"frequency": "monthly"}).status_code == 400
    assert client.post("/reports/subscriptions/", {"frequency": "weekly"}).status_code == 302
    assert client.post("/reports/subscriptions/", {"frequency": "weekly"}).status_code == 302, "again: still one"
    weekly = ReportSubscription.objects.get(user=sam)
    assert weekly.next_send_at.astimezone(ZoneInfo("Europe/Paris")).weekday() == 0, "on Mondays"
    tom = supervisor("tom", history.support)
    client.force_login(tom)
    assert client.post(f"/reports/subscriptions/{weekly.pk}/stop/").status_code == 404, "not Tom's"
    client.force_login(sam)
    page = client.get("/reports/analytics/").content.decode()
    assert 'data-testid="subscriptions"' in page and "Weekly" in page
    assert client.post(f"/reports/subscriptions/{weekly.pk}/stop/").status_code == 302
    assert not ReportSubscription.objects.exists()


def test_the_period_of_a_report_is_the_day_or_the_week_before(settings):
    from callbacks.lifecycle import reports

    settings.TIME_ZONE = "Europe/Paris"
    paris = ZoneInfo("Europe/Paris")
    wednesday = datetime(2026, 12, 2, 7, 0, tzinfo=paris)
    assert reports.period_before("daily", wednesday) == (datetime(2026, 12, 1, tzinfo=paris), datetime(2026, 12, 2, tzinfo=paris))
    assert reports.period_before("weekly", wednesday) == (
        datetime(2026, 11, 23, tzinfo=paris),
        datetime(2026, 11, 30, tzinfo=paris),
    )
    assert reports.next_send("daily", wednesday) == datetime(2026, 12, 3, 7, 0, tzinfo=paris)
    assert reports.next_send("weekly", wednesday) == datetime(2026, 12, 7, 7, 0, tzinfo=paris)
