"""The text interaction: an agent texts the contact from the Party Action Menu, and reads their replies as they come.

Owns: opening a text conversation window (one per agent and number: a second "Text message" to the same number
returns the open window), keeping the draft of the next text on the server as the agent types, Send (checked: not
empty, at most 1,600 characters, never to a number that opted out; then queued through `texts.text_number`, the
outbox, which sends with retries), and Done; the look-up that locks an agent's own conversation
(`locked_text_for`, 404 otherwise).

Only what was sent is the contact's history ("Text sent to … by …", then the gateway's outcome); opening, keeping a
draft and Done write no history row and leave the call window alone (they push the text windows' region only).
Replies and delivery reports reach the open windows from `texts` and `effects` (`effects.push_text_windows`).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from ..enums import HistoryKind
from ..errors import DomainError, Invalid, too_long
from ..models import ContactPhone, TextInteraction
from ..phone import display_phone, normalize_phone
from ..push import Push, push_on_commit
from . import effects
from .texts import opted_out, text_number
from .transitions import action, locked_interaction_for, locked_own, record

# Ten segments of GSM text: what gateways accept as one message (they split it, the phone joins it back).
TEXT_MAX = 1600


def contact_numbers(callback) -> list[str]:
    """The numbers a text may go to, in order: the callback's own, then the contact's other numbers."""
    numbers = [callback.phone_number]
    if callback.contact_id:
        for number in ContactPhone.objects.filter(contact_id=callback.contact_id).order_by("id").values_list("number", flat=True):
            if number not in numbers:
                numbers.append(number)
    return numbers


def chosen_number(number: str, numbers: list[str]) -> str:
    """`number` as stored (E.164); refused when it is no number, or not one of the callback's or its contact's."""
    if not (number or "").strip():
        raise Invalid(gettext("Choose the number to text."), field="number")
    try:
        number = normalize_phone(number)
    except Invalid:
        raise Invalid(gettext("“%(number)s” is not a phone number.") % {"number": number.strip()[:40]}, field="number") from None
    if number not in numbers:
        raise Invalid(gettext("Pick one of the contact's numbers."), field="number")
    return number


def checked_text(body: str, *, complete: bool) -> str:
    """The text as it will be kept: at most TEXT_MAX characters; `complete` (Send) also wants something written."""
    body = body or ""
    if len(body) > TEXT_MAX:
        message = gettext("The text is too long: at most %(max)s characters (it has %(count)s).")
        raise too_long(message, limit=TEXT_MAX, count=len(body), field="body")
    if complete:
        body = body.strip()
        if not body:
            raise Invalid(gettext("The text is empty: write something before Send."), field="body")
    return body


def locked_text_for(user: AbstractBaseUser, text_id: int) -> TextInteraction:
    """The user's own text conversation, locked. Another agent's is a 404, as if it did not exist."""
    rows = TextInteraction.objects.select_related("callback")
    return locked_own(rows, user, text_id, missing=gettext("That text conversation does not exist."))


def _open_window(window: TextInteraction) -> None:
    if window.closed_at is not None:
        raise DomainError(gettext("This text conversation is already closed."))


@action
def do_open_text(*, user: AbstractBaseUser, interaction_id: int, number: str) -> TextInteraction:
    """Party Action Menu → "Text message <number>": a text conversation window opens on the desk, beside the call.

    Refused for a number that is neither the callback's nor one the contact directory has for its contact. While a
    window on the same number is open, that one is returned (the page focuses it) instead. A number that opted out
    may be opened (its thread is worth reading); Send says why nothing can go.
    """
    interaction = locked_interaction_for(user, interaction_id)
    callback = interaction.callback
    number = chosen_number(number, contact_numbers(callback))
    windows = TextInteraction.objects.select_for_update().filter(agent=interaction.agent, number=number, closed_at__isnull=True)
    window = windows.first()
    if window is not None:
        return window
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: "Text message" to the same number clicked in two call windows at once
            window = TextInteraction.objects.create(
                agent=interaction.agent,
                callback=callback,
                contact_id=callback.contact_id,
                interaction=interaction,
                number=number,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # the other click opened it (one per agent and number): that one is focused
        return windows.get()
    push_on_commit(Push.TEXT_CHANGED, agent_ids=[interaction.agent_id])
    return window


@action
def do_save_text_draft(*, user: AbstractBaseUser, text_id: int, body: str) -> TextInteraction:
    """The agent typed in the conversation's compose box: the draft is kept on the server (it survives a reload).

    Refused for a text too long. A save that arrives after Done changes nothing. Not pushed: the page that typed it
    shows it already (its counter is answered to the save itself).
    """
    window = locked_text_for(user, text_id)
    if window.closed_at is not None:
        return window
    body = checked_text(body, complete=False)
    if window.body == body:
        return window
    window.body, window.updated_at = body, timezone.now()
    window.save(update_fields=["body", "updated_at"])
    return window


@action
def do_send_text(*, user: AbstractBaseUser, text_id: int, body: str, sent: int) -> TextInteraction:
    """The agent clicked Send in the text conversation: the text is queued to the outbox, the worker sends it.

    `sent` is how many texts the window had sent when the agent's page showed it: a Send posted again for the same
    draft (a double click, a retried request) finds that number moved on and is refused (409), so it goes once.
    Refused (400) for an empty text or one over 1,600 characters; (409) when the number opted out with STOP, or
    once the window is closed. The thread shows the text Queued, then Sent, Delivered or Not delivered.
    """
    window = locked_text_for(user, text_id)
    _open_window(window)
    if sent != window.sent:
        raise DomainError(gettext("This text was already sent."), code="already_sent")
    body = checked_text(body, complete=True)
    if opted_out(window.number):
        raise DomainError(
            gettext("%(number)s opted out of texts (STOP): nothing can be sent until they text START.")
            % {"number": display_phone(window.number)},
            code="opted_out",
        )
    now = timezone.now()
    text = text_number(window.number, body, now, kind=effects.AGENT_TEXT, callback=window.callback, agent=window.agent)
    window.body, window.sent, window.updated_at = "", window.sent + 1, now
    window.save(update_fields=["body", "sent", "updated_at"])
    record(
        HistoryKind.TEXT,
        f"Text sent to {window.number} by {window.agent}: {text.body[:120]}",
        callback=window.callback,
        agent=window.agent,
        actor=user,
        at=now,
        text=text.pk,
        conversation=window.pk,
    )
    # Every open conversation on the number shows the new text (Queued); the call window's Case history shows it too.
    effects.push_text_windows(window.number)
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[window.agent_id])
    return window


@action
def do_close_text(*, user: AbstractBaseUser, text_id: int) -> TextInteraction:
    """The agent clicked Done: the conversation window leaves the desk (a text queued is still sent, and its outcome
    is in the contact's history; an unsent draft is dropped)."""
    window = locked_text_for(user, text_id)
    _open_window(window)
    window.closed_at = window.updated_at = timezone.now()
    window.save(update_fields=["closed_at", "updated_at"])
    push_on_commit(Push.TEXT_CHANGED, agent_ids=[window.agent_id])
    return window
