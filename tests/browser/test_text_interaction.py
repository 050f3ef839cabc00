"""The text message interaction, in Chromium: opened from the Party Action Menu beside the call, a response inserted
(the counter says what it costs), sent through the outbox and the session's local SMS gateway (Queued, then Sent),
the gateway's delivery report (Delivered) and the customer's reply arriving live, then Done."""

import base64
import hashlib
import hmac
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from callbacks.models import TextMessage

from ..factories import PASSWORD
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "+33612345673"
SHOWN = "+33 6 12 34 56 73"


def from_gateway(server, gateway, path: str, form: dict[str, str]) -> int:
    """The gateway calls the server as the real one does: a form, signed with its token over the URL the server gave
    it (its callback base, as the StatusCallback of the texts it sent says) and the fields."""
    base = gateway.texts[-1]["StatusCallback"].split("/sms/status")[0]
    signed = base + path + "".join(f"{name}{form[name]}" for name in sorted(form))
    signature = base64.b64encode(hmac.new(gateway.token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    request = urllib.request.Request(
        server.url + path, data=urllib.parse.urlencode(form).encode(), headers={"X-Twilio-Signature": signature}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def is_draft_save(response) -> bool:
    return "/texts/" in response.url and "/draft/" in response.url and response.status == 200


def test_the_text_message_interaction(server, sms_gateway, billing_with_responses, open_page, shot):
    page = open_page("alice", PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 768})
    ready(page)
    reference = create(server, billing_with_responses, phone_number=NUMBER, customer_name="Emma Petit")["reference"]
    notification(page).get_by_role("button", name="Accept").click()
    call = page.get_by_role("region", name="Interactions").locator("article.window")
    expect(call.get_by_test_id("call-status")).to_have_text("Ready to Call")

    # Party Action Menu → Text message: a conversation window opens beside the call, its compose box focused.
    call.get_by_label("Party Action Menu").click()
    call.get_by_role("button", name=f"Text message {SHOWN}").click()
    window = page.get_by_role("region", name="Text message interactions").locator("article.text-window")
    expect(window).to_have_count(1)
    expect(window.get_by_test_id("text-number")).to_have_text(SHOWN)
    expect(window).to_contain_text("No texts with this number yet.")
    box = window.get_by_label("Text", exact=True)
    expect(box).to_be_focused()
    expect(window.get_by_test_id("text-count")).to_have_text("0 characters · 0 texts")

    # A standard response goes into the text, filled in for the contact; the counter says what it costs.
    window.get_by_text("Insert response").click()
    with page.expect_response(is_draft_save):
        window.get_by_label("Search responses for this text").fill("refund")
        window.get_by_role("button", name="Insert into text: Refund on its way").click()
    expected = f"Dear Emma, your refund for {reference} is on its way."
    expect(box).to_have_value(expected)
    expect(window.get_by_test_id("text-count")).to_have_text(f"{len(expected)} characters · 1 text")

    # Send: the text joins the thread, Queued, then Sent once the gateway took it; the box is empty for the next.
    window.get_by_role("button", name="Send").click()
    sent = window.get_by_test_id("text-message").filter(has_text=expected)
    expect(sent).to_have_count(1)
    expect(box).to_have_value("")
    expect(sent.get_by_test_id("text-status")).to_have_text("Sent", timeout=30000)
    assert [(t["To"], t["Body"]) for t in sms_gateway.texts if t["Body"] == expected] == [(NUMBER, expected)]
    history = call.get_by_role("list", name="Case history")
    expect(history).to_contain_text(f"Text sent to {NUMBER} by Alice: {expected}")

    # The gateway reports it delivered, and the customer replies: both appear without a reload.
    text = TextMessage.objects.get(number=NUMBER, body=expected)
    status = {"MessageSid": text.provider_id, "MessageStatus": "delivered"}
    assert from_gateway(server, sms_gateway, f"/sms/status?ref={text.pk}", status) == 204
    expect(sent.get_by_test_id("text-status")).to_have_text("Delivered")
    reply = {"From": NUMBER, "Body": "Thank you! Could you call me after 5pm?", "MessageSid": "SMbrowser-reply-1"}
    assert from_gateway(server, sms_gateway, "/sms/inbound", reply) == 200
    incoming = window.get_by_test_id("text-message").filter(has_text="Could you call me after 5pm?")
    expect(incoming).to_have_count(1)
    expect(history).to_contain_text("Text from the customer: Thank you! Could you call me after 5pm?")
    box.fill("Of course, Emma: we call you at 17:30.")
    expect(window.get_by_test_id("text-count")).to_have_text("38 characters · 1 text")
    shot(page, "desk-text-interaction")

    # Done: the window leaves the desk; the call window stays as it was.
    window.get_by_role("button", name="Done").click()
    expect(window).to_have_count(0)
    expect(call.get_by_test_id("call-status")).to_have_text("Ready to Call")
