"""The channels of contact, as data: what each one has.

A channel is a way a customer's request reaches an agent. Each entry says:

- `ready_state`: agents are Ready, Not Ready or in After Call Work on it, one status row per agent
  (`AgentChannelStatus`), and an agent works it unless their row says otherwise (`enabled`);
- `routed`: routing offers its work to Ready agents, with an offer card on the desk (`offer_title`);
- `capacity`: how many of its interactions an agent holds at once (routing offers more only below it);
- `preview`: its window opens on a preview (Case Information, Schedule a Callback) before any call;
- `dials`: a call to the customer is placed from its window (Call, and a queue's dial on Accept);
- `noun`: how the history names a request of this channel.

The desk's status bar, the board's agent rows, the activity report, routing, intake and the callback windows all read
this table: adding a channel is an entry here, not branches across the code. (E-mail's own window, written from the
Party Action Menu, is `presenters/emails.py`.) The labels are marked for translation but stay English here, as the vocabulary in `enums` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop as _


@dataclass(frozen=True)
class ChannelSpec:
    key: str
    label: str
    noun: str
    offer_title: str = ""
    ready_state: bool = True
    routed: bool = True
    capacity: int = 1
    preview: bool = False
    dials: bool = False


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("voice", _("Voice"), noun="callback", offer_title=_("Callback"), dials=True),
    ChannelSpec("web_callback", _("Web Callback"), noun="web callback", offer_title=_("Web Callback"), preview=True),
    # E-mail is written from the Party Action Menu of an open window: no Ready state, never routed.
    ChannelSpec("email", _("E-mail"), noun="e-mail", ready_state=False, routed=False),
)
# Routing holds one open offer per agent and channel (a partial unique constraint), and takes a Ready agent with no
# open interaction on the channel: a routed channel with a capacity above one needs both changed first.
assert all(c.capacity == 1 for c in CHANNELS if c.routed), "routing offers one interaction per agent and channel"

BY_KEY = {c.key: c for c in CHANNELS}
# The channels callbacks come in on, and agents are Ready on: the `Channel` choices of every model.
ROUTED: tuple[ChannelSpec, ...] = tuple(c for c in CHANNELS if c.routed and c.ready_state)


def spec(key: str) -> ChannelSpec:
    """The channel named `key` (KeyError for none)."""
    return BY_KEY[key]
