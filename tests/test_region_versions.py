"""A region's version is derived from what it renders (`{% versioned %}`): the same state gives the same version in
every render (page or push, whatever CSRF token), and anything the region shows moves it; what the page keeps
of its own across a swap (typed text) does not."""

import re

from callbacks import lifecycle
from callbacks.models import Agent, ContactEmail
from callbacks.templatetags.callbacks_extras import version_of
from callbacks.views.render import render_regions

from .factories import make_callback
from .test_calls import accepted
from .test_email_interaction import LEA

REGIONS = ("status", "notifications", "interaction", "emails")


def versions(agent) -> dict[str, str]:
    agent = Agent.objects.get(pk=agent.pk)
    return {
        name: re.search(rf'id="{name}"[^>]*data-version="([0-9a-f]{{12}})"', render_regions(agent, [name])).group(1)
        for name in REGIONS
    }


def test_the_same_state_gives_the_same_versions_in_the_page_and_in_a_push(client, queue, alice):
    ix = accepted(alice, queue, customer_name="Léa Moreau")  # forms with CSRF tokens in the window
    make_callback(queue, phone="+33612345679")  # and no offer: alice is busy
    pushed = versions(alice)
    assert pushed == versions(alice)
    client.force_login(alice.user)
    page = client.get("/").text
    for name, version in pushed.items():
        assert re.search(rf'id="{name}"[^>]*data-version="{version}"', page), name
    assert f'id="window-{ix.pk}"' in page


def test_what_a_region_shows_moves_its_version(queue, alice):
    ix = accepted(alice, queue)
    before = versions(alice)
    lifecycle.do_add_note(user=alice.user, interaction_id=ix.pk, text="Called about the invoice")
    after = versions(alice)
    assert after["interaction"] != before["interaction"]  # the case history shows the note
    assert after["status"] == before["status"] and after["emails"] == before["emails"]
    lifecycle.do_set_status(user=alice.user, channel="voice", status="not_ready")
    assert versions(alice)["status"] != after["status"]


def test_typed_text_the_page_keeps_does_not_move_the_version(queue, alice):
    ix = accepted(alice, queue)
    ContactEmail.objects.create(contact=ix.callback.contact, address=LEA)
    draft = lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to=LEA)
    before = versions(alice)["emails"]
    lifecycle.do_save_email_draft(user=alice.user, email_id=draft.pk, to=LEA, subject="About your call", body="Dear Léa,")
    assert versions(alice)["emails"] == before


def test_version_of_leaves_out_only_what_differs_between_renders_of_one_state():
    a = '<form><input type="hidden" name="csrfmiddlewaretoken" value="AAA"><p>Hello</p></form>'
    b = '<form><input type="hidden" name="csrfmiddlewaretoken" value="BBB"><p>Hello</p></form>'
    assert version_of(a) == version_of(b) == version_of("<form><p>Hello</p></form>")
    assert version_of(a) != version_of(a.replace("Hello", "Hello!"))
    assert version_of('<aside id="n" hx-swap-oob="true"><p>x</p></aside>') == version_of('<aside id="n"><p>x</p></aside>')
    typed = '<textarea id="note-1" hx-preserve="true">{}</textarea>'
    assert version_of(typed.format("draft one")) == version_of(typed.format("draft two"))
