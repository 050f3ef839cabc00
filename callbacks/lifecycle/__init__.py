"""Every state change of Ringback: one function per thing a person (or the clock, or the switch) did.

Modules by domain, lowest first (a module imports only those below it; the
contract is checked by import-linter in the test command):

- `transitions` — the durable transaction, history rows, the callback transition helper
- `effects` — durable side effects (switch commands, e-mail) run by the task worker
- `lines` — call state changes, hold accounting, ending a call
- `recordings` — a call's recording: started, paused, resumed, stopped and stored; played; deleted when expired
- `offers` — routing, offers, Accept and Reject, returning a callback to its queue
- `presence` — agent status per channel, login and logout
- `wrapup` — dispositions, notes, reschedule, Mark Done, closing the window
- `emails` — the e-mail interaction from the Party Action Menu: draft, Send through the outbox, Discard, Done
- `calls` — call control and switch events, the retry policy
- `transfers` — transfer, conference, consultation, Team Communicator targets
- `intake` — new requests, the customer's moves and cancellations, attached data
- `directory` — the contact directory
- `clock` — timers: due callbacks, offer expiry, After Call Work, reminders, call supervision
- `repair` — reconciliation: callbacks whose state disagrees with their offers, interactions and calls
- `supervision` — a supervisor's actions on callbacks (one or in bulk) and on agents' status
- `monitoring` — a supervisor on an agent's call: Listen, Whisper, Barge, Leave
- `voice` — the voice menu on the entry numbers: a call takes a line, books, keeps or cancels a callback, ends
- `webhooks` — an integrator's subscriptions, their secrets, deliveries and replays
- `texts` — text messages to customers (confirmations, reminders) and from them (replies, STOP)
- `conversations` — the text interaction from the Party Action Menu: the thread with a number, a draft, Send, Done
- `accounts` — the roles and queues the identity provider gives a user at single sign-on
"""

from .accounts import do_apply_provider_roles
from .calls import (
    do_call,
    do_end_call,
    do_hold_call,
    do_line_report,
    do_pause_recording,
    do_record_call,
    do_resume_call,
    do_resume_recording,
    do_send_dtmf,
    do_switch_event,
    end_unreached_call,
    retry_rule_for,
)
from .clock import (
    do_end_after_call_work,
    do_enqueue_due,
    do_expire_offers,
    do_expire_windows,
    do_remind_owners,
    seconds_to_next_deadline,
    supervise_calls,
    sweep,
    sweep_deadlines,
)
from .conversations import do_close_text, do_open_text, do_save_text_draft, do_send_text, locked_text_for
from .directory import ContactInput, do_create_contact, do_link_contact, do_update_contact
from .effects import perform as perform_effect
from .emails import (
    do_close_email,
    do_discard_email,
    do_open_email,
    do_save_email_draft,
    do_send_email,
    locked_email_for,
)
from .intake import (
    CallbackInput,
    callback_request,
    do_cancel_callback,
    do_create_callback,
    do_move_callback,
    do_update_callback_data,
)
from .monitoring import (
    do_board_back,
    do_board_gone,
    do_end_unwatched_monitoring,
    do_leave_monitoring,
    do_monitor,
    do_monitor_mode,
    do_monitoring_line_gone,
    open_monitoring,
)
from .offers import (
    do_accept_offer,
    do_acknowledge_offer,
    do_offer_next,
    do_reject_offer,
    make_offer,
    route_everything,
    route_queue,
)
from .presence import (
    SETTABLE_STATUSES,
    change_status,
    do_log_in,
    do_log_out,
    do_set_channels_worked,
    do_set_language,
    do_set_status,
    end_session,
)
from .recordings import do_open_recording
from .repair import do_reconcile_callback, inconsistent_callbacks
from .reports import do_send_reports, do_subscribe_report, do_unsubscribe_report
from .supervision import (
    BulkAction,
    BulkResult,
    bulk,
    do_force_status,
    do_pause_callback,
    do_reassign_agent,
    do_reassign_queue,
    do_resume_callback,
    do_set_priority,
    do_supervisor_cancel,
    do_supervisor_reschedule,
)
from .texts import do_confirm_number, do_receive_text, do_start_number_check, do_text_status, number_check
from .transfers import (
    do_accept_conference,
    do_accept_consultation,
    do_complete_consultation,
    do_conference,
    do_decline_conference,
    do_decline_consultation,
    do_end_consultation,
    do_expire_conference_requests,
    do_expire_consultation_requests,
    do_leave_conference,
    do_line_transfer_report,
    do_start_consultation,
    do_toggle_favorite,
    do_transfer,
    resolve_target,
)
from .transitions import action, locked_interaction_for, record, transition
from .voice import (
    do_book_from_voice,
    do_cancel_from_voice,
    do_customer_answered,
    do_customer_dialled_in,
    do_customer_handed_over,
    do_customer_hold_expired,
    do_customer_left_line,
    do_customer_on_line,
    do_customer_unreached,
    do_dial_next_customer,
    do_end_voice_session,
    do_free_voice_lines,
    do_move_from_voice,
    do_open_voice_session,
    do_settle_voice,
)
from .webhooks import (
    do_delete_subscription,
    do_queue_webhooks,
    do_replay_delivery,
    do_rotate_secret,
    do_subscribe,
    do_update_subscription,
)
from .wrapup import (
    NOTE_MAX,
    dispositions_for,
    do_add_note,
    do_mark_done,
    do_reschedule_callback,
    do_set_disposition,
    validate_reschedule,
)

__all__ = [
    "do_send_reports",
    "do_subscribe_report",
    "do_unsubscribe_report",
    "do_leave_monitoring",
    "do_monitor",
    "do_monitor_mode",
    "do_monitoring_line_gone",
    "do_board_back",
    "do_board_gone",
    "do_end_unwatched_monitoring",
    "open_monitoring",
    "do_customer_answered",
    "do_customer_handed_over",
    "do_customer_hold_expired",
    "do_customer_on_line",
    "do_customer_unreached",
    "do_dial_next_customer",
    "do_move_from_voice",
    "do_customer_dialled_in",
    "do_customer_left_line",
    "do_book_from_voice",
    "do_cancel_from_voice",
    "do_end_voice_session",
    "do_free_voice_lines",
    "do_open_voice_session",
    "do_settle_voice",
    "do_line_report",
    "do_line_transfer_report",
    "do_reconcile_callback",
    "inconsistent_callbacks",
    "BulkAction",
    "BulkResult",
    "bulk",
    "do_force_status",
    "do_reassign_agent",
    "do_reassign_queue",
    "do_set_priority",
    "do_pause_callback",
    "do_receive_text",
    "do_confirm_number",
    "do_start_number_check",
    "number_check",
    "do_text_status",
    "do_resume_callback",
    "do_supervisor_cancel",
    "do_supervisor_reschedule",
    "NOTE_MAX",
    "SETTABLE_STATUSES",
    "CallbackInput",
    "callback_request",
    "ContactInput",
    "action",
    "change_status",
    "dispositions_for",
    "do_accept_conference",
    "do_accept_consultation",
    "do_decline_conference",
    "do_expire_conference_requests",
    "do_expire_consultation_requests",
    "do_accept_offer",
    "do_acknowledge_offer",
    "do_add_note",
    "do_call",
    "do_cancel_callback",
    "do_complete_consultation",
    "do_conference",
    "do_create_callback",
    "do_move_callback",
    "do_update_callback_data",
    "do_create_contact",
    "do_decline_consultation",
    "do_end_after_call_work",
    "do_end_call",
    "do_end_consultation",
    "do_enqueue_due",
    "do_expire_offers",
    "do_expire_windows",
    "do_hold_call",
    "do_open_recording",
    "do_pause_recording",
    "do_record_call",
    "do_resume_recording",
    "do_leave_conference",
    "do_link_contact",
    "do_log_in",
    "do_log_out",
    "end_session",
    "do_apply_provider_roles",
    "do_set_channels_worked",
    "do_mark_done",
    "do_offer_next",
    "do_reject_offer",
    "do_remind_owners",
    "do_reschedule_callback",
    "do_resume_call",
    "do_send_dtmf",
    "do_send_email",
    "do_open_email",
    "do_save_email_draft",
    "do_discard_email",
    "do_close_email",
    "locked_email_for",
    "do_open_text",
    "do_save_text_draft",
    "do_send_text",
    "do_close_text",
    "locked_text_for",
    "do_set_disposition",
    "do_set_language",
    "do_set_status",
    "do_start_consultation",
    "do_switch_event",
    "do_toggle_favorite",
    "do_transfer",
    "do_update_contact",
    "end_unreached_call",
    "locked_interaction_for",
    "make_offer",
    "perform_effect",
    "record",
    "resolve_target",
    "retry_rule_for",
    "route_everything",
    "route_queue",
    "supervise_calls",
    "sweep",
    "sweep_deadlines",
    "seconds_to_next_deadline",
    "transition",
    "validate_reschedule",
    "do_delete_subscription",
    "do_queue_webhooks",
    "do_replay_delivery",
    "do_rotate_secret",
    "do_subscribe",
    "do_update_subscription",
]
