from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog

from callbacks import gms
from callbacks.api import api
from callbacks.views import board, calls, conversations, directory, emails, health, metrics, public, reports, softphone, texts
from callbacks.views import workspace as views

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("workspace/regions/", views.regions, name="regions"),
    path("workspace/day/", views.my_day, name="my_day"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("workspace/language/", views.set_language, name="agent_language"),
    path("status/", views.set_status, name="set_status"),
    path("offers/<int:offer_id>/accept/", views.offer_action, {"verb": "accept"}, name="accept_offer"),
    path("offers/<int:offer_id>/reject/", views.offer_action, {"verb": "reject"}, name="reject_offer"),
    path("interactions/<int:interaction_id>/done/", calls.interaction_action, {"verb": "done"}, name="mark_done"),
    path("interactions/<int:interaction_id>/call/", calls.interaction_action, {"verb": "call"}, name="call"),
    path("interactions/<int:interaction_id>/end/", calls.interaction_action, {"verb": "end"}, name="end_call"),
    path("interactions/<int:interaction_id>/hold/", calls.interaction_action, {"verb": "hold"}, name="hold_call"),
    path("interactions/<int:interaction_id>/resume/", calls.interaction_action, {"verb": "resume"}, name="resume_call"),
    path("interactions/<int:interaction_id>/dtmf/", calls.send_dtmf, name="send_dtmf"),
    path("interactions/<int:interaction_id>/reschedule/", calls.reschedule, name="reschedule"),
    path("interactions/<int:interaction_id>/slots/", calls.reschedule_slots, name="reschedule_slots"),
    path("interactions/<int:interaction_id>/disposition/", calls.set_disposition, name="set_disposition"),
    path("interactions/<int:interaction_id>/note/", calls.add_note, name="add_note"),
    path("interactions/<int:interaction_id>/email/", emails.open_email, name="open_email"),
    path("emails/<int:email_id>/", emails.email_window, name="email_window"),
    path("emails/<int:email_id>/draft/", emails.email_action, {"verb": "draft"}, name="save_email_draft"),
    path("emails/<int:email_id>/send/", emails.email_action, {"verb": "send"}, name="send_email"),
    path("emails/<int:email_id>/discard/", emails.email_action, {"verb": "discard"}, name="discard_email"),
    path("emails/<int:email_id>/done/", emails.email_action, {"verb": "done"}, name="close_email"),
    path("interactions/<int:interaction_id>/text/", conversations.open_text, name="open_text"),
    path("texts/<int:text_id>/", conversations.text_window, name="text_window"),
    path("texts/<int:text_id>/draft/", conversations.save_draft, name="save_text_draft"),
    path("texts/<int:text_id>/send/", conversations.send, name="send_text"),
    path("texts/<int:text_id>/done/", conversations.close, name="close_text"),
    re_path(
        r"^interactions/(?P<interaction_id>\d+)/(?P<mode>transfer|conference|consult)/$", calls.team_action, name="team_action"
    ),
    re_path(
        r"^consultations/(?P<consultation_id>\d+)/(?P<verb>accept|decline|end|transfer|conference)/$",
        calls.consultation_action,
        name="consultation_action",
    ),
    path("parties/<int:party_id>/leave/", calls.leave_conference, name="leave_conference"),
    re_path(r"^parties/(?P<party_id>\d+)/(?P<verb>accept|decline)/$", calls.conference_request, name="conference_request"),
    path("team/", calls.team_communicator, name="team"),
    path("contacts/", directory.contacts, name="contacts"),
    path("contacts/new/", directory.contact_new, name="contact_new"),
    path("contacts/<int:contact_id>/", directory.contact_detail, name="contact"),
    path("interactions/<int:interaction_id>/contact/", directory.link_contact, name="link_contact"),
    path("responses/", directory.responses, name="responses"),
    path("team/favorite/", calls.toggle_favorite, name="toggle_favorite"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("softphone/events/", softphone.page_event, name="softphone_event"),
    path("sip/events", softphone.proxy_event, name="sip_events"),
    path("sip/caller-id", softphone.proxy_caller_id, name="sip_caller_id"),
    path("sip/entry", softphone.proxy_entry, name="sip_entry"),
    path("sip/message", softphone.proxy_message, name="sip_message"),
    path("sms/inbound", texts.inbound, name="sms_inbound"),
    path("sms/status", texts.status, name="sms_status"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/v1/", api.urls),
    path("board/", board.board, name="board"),
    path("board/figures/", board.figures, name="board_figures"),
    path("board/callbacks/", board.worklist, name="worklist"),
    path("board/callbacks/bulk/", board.bulk_action, name="bulk_action"),
    path("board/callbacks/<int:callback_id>/", board.callback_detail, name="callback_detail"),
    path("board/agents/<int:agent_id>/status/", board.force_status, name="force_status"),
    path("reports/", reports.reports, name="reports"),
    path("reports/callbacks.csv", reports.callbacks_csv, name="report_callbacks_csv"),
    path("reports/agents.csv", reports.agents_csv, name="report_agents_csv"),
    path("request/<slug:slug>/", public.request_callback, name="public_request"),
    path("request/done/<str:token>/", public.done, name="public_done"),
    path("request/check/<str:token>/", public.verify_number, name="public_verify"),
    path("my/<str:token>/", public.manage, name="public_manage"),
    path("m/<str:code>", public.short_link, name="public_short_link"),
    path("my/<str:token>/move/", public.manage_move, name="public_move"),
    path("my/<str:token>/cancel/", public.manage_cancel, name="public_cancel"),
    path("genesys/1/service/callback", gms.query_by_id, name="gms_query"),
    path("genesys/1/service/callback/<str:service>", gms.service, name="gms_service"),
    path("genesys/1/service/callback/<str:service>/availability", gms.availability, name="gms_availability"),
    path("genesys/1/service/callback/<str:service>/<str:reference>", gms.one, name="gms_one"),
    path("genesys/1/service/<str:reference>/check-queue-position", gms.queue_position, name="gms_position"),
    path("genesys/1/admin/callback/queues", gms.admin_queues, name="gms_admin_queues"),
    path("genesys/1/admin/callback/cancel", gms.admin_cancel, name="gms_admin_cancel"),
    path("genesys/1/admin/callback/watermarks", gms.admin_watermarks, name="gms_admin_watermarks"),
    path("genesys/1/admin/callback/reportcancelled", gms.admin_report_cancelled, name="gms_admin_report_cancelled"),
    re_path(r"^genesys/(?P<rest>.*)$", gms.unknown_path, name="gms_unknown"),  # GMS's JSON 404, after every GMS path
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switch
    path("admin/", admin.site.urls),
]
if settings.RINGBACK_SIMULATOR:
    urlpatterns.append(path("sim/", include("callbacks.telephony.simulator.urls")))

# A database error outside a view (a middleware, the session) is a 503 with Retry-After too, not a 500.
handler500 = "callbacks.middleware.server_error"
