"""The callback menu a caller hears on a queue's entry number: what is said, and what each key does.

No I/O: the application gives it what it knows of the call (`Facts`) and the caller's keys and silences; it answers
with what to say next (`Say`) and calls `book`/`cancel`/`settle` (the application's, which write through
`lifecycle.voice`). Tested alone in `tests/test_voice_menu.py`.

- The greeting says the estimated wait (the API's figure for a callback booked now), or, outside opening hours,
  when the queue opens again. A caller who already has an open callback in the queue hears when it is due and
  may keep it (1) or cancel it (2).
- 1: call me back at this number (read back, then 1 confirms, 2 keys another). A caller whose number is unknown
  (anonymous) is asked to key one.
- 2: another number, keyed and ended with # (a pause ends it too), checked with phonenumbers as the intake checks
  every number; a third invalid number ends the call politely.
- 3: a time among the queue's next free slots ("for today at 14 hours 30, press 1 …").
- *: repeat. Silence repeats the prompt twice, then the menu says goodbye.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import Invalid
from ..models import VoiceOutcome
from ..phone import normalize_phone
from .prompts import time_parts

MAX_SILENCES = 2  # repeats after a silence; the next silence says goodbye
MAX_INVALID = 3  # invalid numbers keyed; the third ends the call
MAX_DIGITS = 20


@dataclass
class Facts:
    """What the application knows of the call when it answers."""

    queue_name: str
    language: str
    caller: str  # E.164, or "" (anonymous)
    now: datetime  # local time
    wait_seconds: int | None = None
    opens_at: datetime | None = None  # None: open now
    existing_due: datetime | None = None  # the caller's open callback in this queue, when it is due (local)
    has_existing: bool = False
    existing_in_progress: bool = False
    slots: list[datetime] = field(default_factory=list)  # the next free slots, local, at most 5
    offers_times: bool = True
    region: str = ""  # where a number keyed without its country code is read (the entry number's country)
    returning: bool = False  # customer first: Ringback called the customer (1: connected now, 2: another time)
    dials_in: bool = False  # the caller was told to call in (GMS's USERORIGINATED): put through to an agent at once
    keypad: list[tuple[str, str]] = field(default_factory=list)  # fields to key in after the number: (name, title)


@dataclass
class Say:
    parts: list[str]
    hang_up: bool = False  # after the words: the call is over


class Menu:
    def __init__(
        self,
        facts: Facts,
        *,
        book: Callable[[str, datetime | None, dict[str, str]], str | None],
        cancel: Callable[[], str | None],
        settle: Callable[[str], None],
        on_line: Callable[[], bool] | None = None,
        unreached: Callable[[], None] | None = None,
    ):
        """`book(number, when, fields)` and `cancel()` return None when done, or why not: a clip key ("invalid"), or
        "field:<name>" when the definition refused a keyed field.
        Customer first: `on_line()` offers the customer to agents (False: the callback is gone meanwhile), and
        `unreached()` says no key came (no answer, or an answering machine)."""
        self.facts, self.book, self.cancel, self.settle = facts, book, cancel, settle
        self.on_line, self.unreached = on_line, unreached
        self.state = "main"
        self.prompt: list[str] = []
        self.silences = 0
        self.invalid = 0
        self.keyed = ""
        self.number = ""
        self.when: datetime | None = None
        self.fields: dict[str, str] = {}  # keyed so far
        self.asking: list[tuple[str, str]] = []  # still to ask

    # -- what is said -----------------------------------------------------------------------------------------------

    def _ask(self, state: str, parts: list[str], intro: list[str] | None = None) -> Say:
        """Say `intro` then `parts`, and wait in `state`; `*` and silences repeat `parts`."""
        self.state, self.prompt, self.keyed = state, parts, ""
        return Say((intro or []) + parts)

    def _end(self, parts: list[str], outcome: str | None = None) -> Say:
        if outcome:
            self.settle(outcome)
        self.state = "over"
        return Say(parts, hang_up=True)

    def _main_options(self) -> list[str]:
        f = self.facts
        options = ["menu_1" if f.caller else "menu_1_unknown", "menu_2"]
        if f.offers_times and f.slots:
            options.append("menu_3")
        return [*options, "menu_star"]

    def _wait_parts(self) -> list[str]:
        f = self.facts
        if f.opens_at is not None:
            return ["closed", *time_parts(f.language, f.opens_at, f.now), "closed_menu"]
        if f.wait_seconds is None:
            return []
        minutes = round(f.wait_seconds / 60)
        if minutes < 1:
            return ["wait_short"]
        if minutes >= 60:
            return ["wait_long"]
        return ["wait_about", f"n:{minutes}", "minutes"]

    def _when_parts(self, when: datetime | None) -> list[str]:
        return time_parts(self.facts.language, when, self.facts.now) if when else ["soon"]

    def _read_back(self) -> Say:
        if self.facts.returning:  # Ringback called this number: only the time is new
            return self._ask("confirm", ["read_time", *self._when_parts(self.when), "confirm_time"])
        parts = ["read_number", f"digits:{self.number}"]
        if self.when:
            parts += self._when_parts(self.when)
        return self._ask("confirm", [*parts, "confirm"])

    def start(self) -> Say:
        f = self.facts
        if f.returning:
            return self._ask("returning", ["returning_1", f"name:{f.queue_name}", "returning_2", "returning_options"])
        hello = ["thanks", f"name:{f.queue_name}"]
        if f.dials_in and self.on_line():
            self.state = "holding"
            return Say([*hello, "hold"])
        if f.has_existing:
            if f.existing_in_progress:
                return self._end([*hello, "existing_busy"], VoiceOutcome.KEPT)
            return self._ask("existing", ["existing", *self._when_parts(f.existing_due), "existing_keep"], intro=hello)
        return self._ask("main", self._main_options(), intro=hello + self._wait_parts())

    # -- what the caller does ---------------------------------------------------------------------------------------

    def silence(self) -> Say | None:
        """The menu's wait ran out with no key (None: nothing to say, the customer is holding for an agent)."""
        if self.state == "over":
            return Say([], hang_up=True)
        if self.state == "holding":
            return None
        if self.state == "returning":  # no key: nobody there, or an answering machine
            self.unreached()
            return self._end(["goodbye_short"])
        if self.state in ("number", "field") and self.keyed:
            return self._keyed()  # a pause after the digits ends them, as # does
        self.silences += 1
        if self.silences > MAX_SILENCES:
            return self._end(["goodbye"], VoiceOutcome.NO_INPUT)
        return self._ask(self.state, self.prompt)

    def key(self, digit: str) -> Say | None:
        """A key the caller pressed: what to say now (None: nothing yet, a number is being keyed)."""
        self.silences = 0
        if self.state in ("over", "holding"):
            return None
        if digit == "*":
            return self._ask(self.state, self.prompt)
        if self.state in ("number", "field"):
            if digit == "#":
                return self._keyed()
            if len(self.keyed) < MAX_DIGITS:
                self.keyed += digit
            return None
        handler = getattr(self, f"_on_{self.state}")
        return handler(digit) or self._ask(self.state, self.prompt, intro=["not_understood"])

    def _on_main(self, digit: str) -> Say | None:
        if digit == "1":
            if not self.facts.caller:
                return self._ask("number", ["enter_number"])
            self.number = self.facts.caller
            return self._read_back()
        if digit == "2":
            return self._ask("number", ["enter_number"])
        if digit == "3" and self.facts.offers_times and self.facts.slots:
            return self._slots()
        return None

    def _slots(self) -> Say:
        if not self.facts.slots:
            return self._end(["no_slots", "goodbye_short"], VoiceOutcome.NO_ANSWER)
        parts = []
        for n, slot in enumerate(self.facts.slots, start=1):
            parts += ["for", *self._when_parts(slot), "press", f"n:{n}"]
        return self._ask("slot", parts)

    def _on_returning(self, digit: str) -> Say | None:
        if digit == "1":
            if not self.on_line():
                return self._end(["goodbye_short"])
            self.state = "holding"
            return Say(["hold"])
        if digit == "2":
            self.number = self.facts.caller
            return self._slots()
        return None

    def apologise(self, when: datetime) -> Say:
        """Customer first: no agent took the customer within the queue's hold limit; a new time is booked."""
        return self._end(["sorry_busy", *self._when_parts(when), "goodbye_short"])

    def _on_slot(self, digit: str) -> Say | None:
        if not digit.isdigit() or not 1 <= int(digit) <= len(self.facts.slots):
            return None
        self.when = self.facts.slots[int(digit) - 1]
        if not self.facts.caller:
            return self._ask("number", ["enter_number"])
        self.number = self.facts.caller
        return self._read_back()

    def _on_confirm(self, digit: str) -> Say | None:
        if digit == "1":
            if self.facts.keypad and not self.facts.returning:
                self.asking, self.fields = list(self.facts.keypad), {}
                return self._ask_field()
            return self._book()
        if digit == "2":
            return self._slots() if self.facts.returning else self._ask("number", ["enter_number"])
        return None

    def _on_existing(self, digit: str) -> Say | None:
        if digit == "1":
            return self._end(["kept"], VoiceOutcome.KEPT)
        if digit == "2":
            why_not = self.cancel()
            return self._end([why_not] if why_not else ["cancelled"])
        return None

    def _ask_field(self, intro: list[str] | None = None) -> Say:
        _, title = self.asking[0]
        return self._ask("field", ["key_in", f"name:{title}", "then_hash"], intro=intro)

    def _keyed(self) -> Say:
        if self.state == "number":
            return self._number_keyed()
        name, _ = self.asking.pop(0)
        self.fields[name], self.keyed = self.keyed, ""
        return self._ask_field() if self.asking else self._book()

    def _book(self) -> Say:
        why_not = self.book(self.number, self.when, self.fields)
        if why_not is None:
            return self._end(["booked"])
        name = why_not.removeprefix("field:")
        if name != why_not:  # a keyed value the definition refused: that field again
            self.invalid += 1
            if self.invalid >= MAX_INVALID:
                return self._end(["invalid_value", "goodbye"], VoiceOutcome.INVALID)
            self.asking = [f for f in self.facts.keypad if f[0] == name] + [f for f in self.asking if f[0] != name]
            return self._ask_field(intro=["invalid_value"])
        return self._invalid_number(why_not)

    def _number_keyed(self) -> Say:
        keyed, self.keyed = self.keyed, ""
        try:
            self.number = normalize_phone(keyed, region=self.facts.region or None)
        except Invalid:
            return self._invalid_number("invalid")
        return self._read_back()

    def _invalid_number(self, why: str) -> Say:
        self.invalid += 1
        if self.invalid >= MAX_INVALID:
            return self._end([why, "goodbye"], VoiceOutcome.INVALID)
        return self._ask("number", ["enter_number"], intro=[why])
