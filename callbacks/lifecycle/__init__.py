"""Every state change of Ringback: one function per thing a person (or the clock, or the switch) did."""

from .calls import do_call, do_end_call, do_hold_call, do_resume_call, do_send_dtmf, do_switch_event, retry_rule_for
from .core import (
    MISSED_OFFER_REASON,
    SETTABLE_STATUSES,
    CallbackInput,
    _set_status,
    action,
    do_accept_offer,
    do_cancel_callback,
    do_create_callback,
    do_enqueue_due,
    do_expire_offers,
    do_log_in,
    do_log_out,
    do_reject_offer,
    do_set_status,
    locked_interaction_for,
    offer_callback,
    record,
)
from .team import (
    do_accept_consultation,
    do_complete_consultation,
    do_conference,
    do_decline_consultation,
    do_end_consultation,
    do_leave_conference,
    do_start_consultation,
    do_toggle_favorite,
    do_transfer,
    resolve_target,
)
from .wrapup import (
    dispositions_for,
    do_add_note,
    do_end_after_call_work,
    do_mark_done,
    do_reschedule_callback,
    do_send_email,
    do_set_disposition,
    validate_reschedule,
)

__all__ = [name for name in dir() if name.startswith("do_")] + [
    "MISSED_OFFER_REASON",
    "SETTABLE_STATUSES",
    "CallbackInput",
    "_set_status",
    "action",
    "dispositions_for",
    "locked_interaction_for",
    "offer_callback",
    "record",
    "resolve_target",
    "retry_rule_for",
    "validate_reschedule",
]
