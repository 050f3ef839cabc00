"""The voice menu as a state machine: what is said after each key and silence, and what it books (no SIP here; the
same menu on real SIP is tests/sip/test_voice.py)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callbacks.models import VoiceOutcome
from callbacks.voice import prompts
from callbacks.voice.menu import Facts, Menu

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)


class Desk:
    """The application's side: what the menu booked, cancelled and settled."""

    def __init__(self, refuse_booking: str | None = None, refuse_cancel: str | None = None):
        self.booked, self.cancelled, self.settled = [], 0, []
        self.refuse_booking, self.refuse_cancel = refuse_booking, refuse_cancel

    def menu(self, **facts) -> Menu:
        base = {"queue_name": "Billing", "language": "en", "caller": "+33612345678", "now": NOW, "wait_seconds": 300}
        return Menu(Facts(**(base | facts)), book=self.book, cancel=self.cancel, settle=self.settled.append)

    def book(self, number, when, fields):
        if self.refuse_booking:
            return self.refuse_booking
        if fields.get("account", "").startswith("0"):
            return "field:account"  # what the definition would refuse
        self.booked.append((number, when) + ((fields,) if fields else ()))
        return None

    def cancel(self):
        self.cancelled += 1
        return self.refuse_cancel


def press(menu: Menu, keys: str):
    said = None
    for key in keys:
        said = menu.key(key) or said
    return said


def test_the_greeting_says_the_wait_and_the_options_and_1_1_books_the_callers_number():
    desk = Desk()
    menu = desk.menu()
    greeting = menu.start()
    assert greeting.parts == ["thanks", "name:Billing", "wait_about", "n:5", "minutes", "menu_1", "menu_2", "menu_star"]
    assert menu.key("1").parts == ["read_number", "digits:+33612345678", "confirm"]
    done = menu.key("1")
    assert done.hang_up and done.parts == ["booked"]
    assert desk.booked == [("+33612345678", None)]


@pytest.mark.parametrize(("seconds", "parts"), [(20, ["wait_short"]), (4000, ["wait_long"]), (None, [])])
def test_a_wait_under_a_minute_or_over_an_hour_is_said_in_words(seconds, parts):
    greeting = Desk().menu(wait_seconds=seconds).start()
    assert greeting.parts[2:-3] == parts


def test_outside_opening_hours_the_greeting_says_when_the_queue_opens_and_still_takes_a_callback():
    opens = datetime(2026, 12, 8, 9, 30, tzinfo=PARIS)
    greeting = Desk().menu(opens_at=opens).start()
    assert greeting.parts[2:-3] == ["closed", "tomorrow", "n:9", "hours", "n:30", "closed_menu"]


def test_another_number_is_keyed_checked_and_a_third_invalid_one_ends_politely():
    desk = Desk()
    menu = desk.menu()
    menu.start()
    assert menu.key("2").parts == ["enter_number"]
    assert press(menu, "0612#").parts == ["invalid", "enter_number"]
    assert press(menu, "99#").parts == ["invalid", "enter_number"]
    end = press(menu, "1#")
    assert end.hang_up and end.parts == ["invalid", "goodbye"]
    assert desk.settled == [VoiceOutcome.INVALID] and not desk.booked


def test_a_number_keyed_in_the_entry_numbers_country_or_with_00_is_read_as_e164():
    desk = Desk()
    menu = desk.menu(region="FR")
    menu.start()
    menu.key("2")
    assert press(menu, "0612000099#").parts[1] == "digits:+33612000099"
    menu.key("2")
    assert press(menu, "0032470123456#").parts[1] == "digits:+32470123456"
    menu.key("1")
    assert desk.booked == [("+32470123456", None)]


def test_a_pause_after_the_digits_ends_the_number_as_hash_does():
    menu = Desk().menu(region="FR")
    menu.start()
    menu.key("2")
    press(menu, "0612000099")
    assert menu.silence().parts[:2] == ["read_number", "digits:+33612000099"]


def test_star_repeats_and_silence_repeats_twice_then_says_goodbye():
    desk = Desk()
    menu = desk.menu()
    first = menu.start()
    assert menu.key("*").parts == first.parts[-3:]
    assert menu.silence().parts == first.parts[-3:]
    assert menu.silence().parts == first.parts[-3:]
    end = menu.silence()
    assert end.hang_up and end.parts == ["goodbye"]
    assert desk.settled == [VoiceOutcome.NO_INPUT]


def test_a_key_that_is_no_option_says_so_and_repeats():
    menu = Desk().menu()
    menu.start()
    assert menu.key("7").parts == ["not_understood", "menu_1", "menu_2", "menu_star"]


def test_3_offers_the_free_slots_and_the_chosen_one_is_booked_with_the_callers_number():
    slots = [datetime(2026, 12, 7, 14, 30, tzinfo=PARIS), datetime(2026, 12, 9, 9, 0, tzinfo=PARIS)]
    desk = Desk()
    menu = desk.menu(slots=slots)
    assert "menu_3" in menu.start().parts
    offer = menu.key("3")
    assert offer.parts == [
        "for", "today", "n:14", "hours", "n:30", "press", "n:1",
        "for", "on", "day:2", "at", "n:9", "hours", "press", "n:2",
    ]  # fmt: skip
    assert menu.key("5").parts[0] == "not_understood"
    assert menu.key("2").parts == ["read_number", "digits:+33612345678", "on", "day:2", "at", "n:9", "hours", "confirm"]
    menu.key("1")
    assert desk.booked == [("+33612345678", slots[1])]


def test_no_option_3_without_free_slots_or_when_admin_turned_it_off():
    slot = [datetime(2026, 12, 7, 14, 30, tzinfo=PARIS)]
    for menu in (Desk().menu(slots=[]), Desk().menu(slots=slot, offers_times=False)):
        assert "menu_3" not in menu.start().parts
        assert menu.key("3").parts[0] == "not_understood"


def test_an_anonymous_caller_is_asked_for_a_number():
    desk = Desk()
    menu = desk.menu(caller="")
    assert "menu_1_unknown" in menu.start().parts
    assert menu.key("1").parts == ["enter_number"]


def test_a_caller_with_an_open_callback_hears_when_it_is_due_and_keeps_or_cancels_it():
    due = datetime(2026, 12, 7, 16, 0, tzinfo=PARIS)
    desk = Desk()
    menu = desk.menu(has_existing=True, existing_due=due)
    assert menu.start().parts == ["thanks", "name:Billing", "existing", "today", "n:16", "hours", "existing_keep"]
    assert menu.key("1").parts == ["kept"] and desk.settled == [VoiceOutcome.KEPT]
    desk = Desk()
    menu = desk.menu(has_existing=True, existing_due=due)
    menu.start()
    assert menu.key("2").parts == ["cancelled"] and desk.cancelled == 1
    desk = Desk(refuse_cancel="existing_busy")
    menu = desk.menu(has_existing=True, existing_due=due)
    menu.start()
    assert menu.key("2").parts == ["existing_busy"], "an agent took it meanwhile"


def test_an_open_callback_already_in_line_is_due_as_soon_as_possible():
    said = Desk().menu(has_existing=True, existing_due=None).start()
    assert said.parts == ["thanks", "name:Billing", "existing", "soon", "existing_keep"]


def test_a_caller_whose_callback_an_agent_is_working_on_hears_so_and_the_call_ends():
    said = Desk().menu(has_existing=True, existing_in_progress=True, existing_due=NOW).start()
    assert said.hang_up and said.parts[-1] == "existing_busy"


def test_a_booking_the_intake_refuses_asks_for_another_number():
    desk = Desk(refuse_booking="invalid")
    menu = desk.menu()
    menu.start()
    menu.key("1")
    assert menu.key("1").parts == ["invalid", "enter_number"]


def test_keys_after_the_goodbye_change_nothing():
    desk = Desk()
    menu = desk.menu()
    menu.start()
    press(menu, "11")
    assert menu.key("1") is None and menu.silence().hang_up
    assert len(desk.booked) == 1


def test_fields_marked_keypad_are_asked_after_the_number_and_a_refused_one_again():
    desk = Desk()
    menu = desk.menu(keypad=[("account", "Account number"), ("pin", "PIN")])
    menu.start()
    menu.key("1")
    assert menu.key("1").parts == ["key_in", "name:Account number", "then_hash"]
    assert press(menu, "0123#").parts == ["key_in", "name:PIN", "then_hash"]
    assert press(menu, "42") is None, "digits being keyed: nothing said yet"
    again = menu.silence()  # a pause ends the digits too: the definition refuses "0123", the account is asked again
    assert again.parts == ["invalid_value", "key_in", "name:Account number", "then_hash"]
    done = press(menu, "9876#")
    assert done.hang_up and done.parts == ["booked"]
    assert desk.booked == [("+33612345678", None, {"account": "9876", "pin": "42"})]


def returning(desk: Desk, on_line: bool = True, **facts) -> Menu:
    """Customer first: the menu on Ringback's own call to the customer."""
    desk.on_line_calls, desk.unreached_calls = 0, 0

    def line():
        desk.on_line_calls += 1
        return on_line

    def unreached():
        desk.unreached_calls += 1

    base = {"queue_name": "Billing", "language": "en", "caller": "+33612345678", "now": NOW, "returning": True}
    return Menu(
        Facts(**(base | facts)), book=desk.book, cancel=desk.cancel, settle=desk.settled.append, on_line=line, unreached=unreached
    )


def test_customer_first_1_puts_the_customer_on_hold_for_an_agent():
    desk = Desk()
    menu = returning(desk)
    assert menu.start().parts == ["returning_1", "name:Billing", "returning_2", "returning_options"]
    assert menu.key("1").parts == ["hold"] and desk.on_line_calls == 1
    assert menu.key("2") is None and menu.silence() is None, "holding: keys and silences change nothing"
    apology = menu.apologise(datetime(2026, 12, 8, 9, 15, tzinfo=PARIS))
    assert apology.hang_up and apology.parts == ["sorry_busy", "tomorrow", "n:9", "hours", "n:15", "goodbye_short"]


def test_customer_first_2_chooses_a_time_read_back_without_the_number():
    slot = datetime(2026, 12, 7, 16, 0, tzinfo=PARIS)
    desk = Desk()
    menu = returning(desk, slots=[slot])
    menu.start()
    assert menu.key("2").parts == ["for", "today", "n:16", "hours", "press", "n:1"]
    assert menu.key("1").parts == ["read_time", "today", "n:16", "hours", "confirm_time"]
    assert menu.key("2").parts[0] == "for", "2 hears the times again"
    menu.key("1")
    assert menu.key("1").parts == ["booked"] and desk.booked == [("+33612345678", slot)]


def test_customer_first_no_key_is_no_answer_and_a_callback_gone_meanwhile_ends_the_call():
    desk = Desk()
    menu = returning(desk)
    menu.start()
    end = menu.silence()
    assert end.hang_up and desk.unreached_calls == 1, "nobody there, or an answering machine"
    desk = Desk()
    menu = returning(desk, on_line=False)
    menu.start()
    assert menu.key("1").hang_up, "cancelled meanwhile: nothing to hold for"


def test_a_caller_told_to_call_in_is_put_through_at_once():
    """GMS's USERORIGINATED: the caller was answered DialNumber, and calls from their number: no menu, on hold for
    an agent at once; where their callback is gone meanwhile, the menu as for anyone."""
    desk = Desk()
    menu = returning(desk, returning=False, dials_in=True)
    assert menu.start().parts == ["thanks", "name:Billing", "hold"] and desk.on_line_calls == 1
    assert menu.key("1") is None and menu.silence() is None, "holding"
    desk = Desk()
    menu = returning(desk, on_line=False, returning=False, dials_in=True)
    assert menu.start().parts[:2] == ["thanks", "name:Billing"] and menu.state == "main"


@pytest.mark.parametrize("language", prompts.LANGUAGES)
def test_every_language_has_every_clip_the_menu_says(language):
    assert set(prompts.CLIPS[language]) == set(prompts.CLIPS["en"])
    assert len(prompts.CLIPS[language]["days"].split("|")) == 7
    assert prompts.expand(["digits:+331"]) == ["plus", "d:3", "d:3", "d:1"]
