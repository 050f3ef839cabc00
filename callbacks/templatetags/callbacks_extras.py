import hashlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext

from callbacks import channels
from callbacks.enums import CallOutcome
from callbacks.errors import DomainError
from callbacks.lifecycle import resolve_target
from callbacks.phone import display_phone, zone_city
from callbacks.presenters import offers

register = template.Library()

KIND_LABELS = {"agent": "Agent", "queue": "Queue", "rp": "Routing point", "contact": "Contact", "number": "Number"}


@register.filter
def shown_stamp(offer_id: int) -> str:
    """The signed time this offer's card is rendered: its page sends it back with the acknowledgement."""
    return offers.shown_stamp(offer_id)


@register.filter
def translate_label(label) -> str:
    """A stored English label (an enum's, marked with gettext_noop) in the page's language, for use inside
    `{% blocktranslate with … %}` where `{% translate var %}` cannot go."""
    return gettext(str(label)) if label else ""


@register.filter
def offer_title(channel: str) -> str:
    """An offer card's title on this channel, in the page's language ("Callback", "Rappel"). (`{% translate
    channel|offer_title %}` translated the channel's key before the filter, and the title stayed English.)"""
    return gettext(channels.spec(channel).offer_title)


@register.filter
def concat(prefix, value) -> str:
    return f"{prefix}{value}"


@register.filter
def target_kind(key: str) -> str:
    return (key or "").partition(":")[0]


@register.filter
def target_label(key: str) -> str:
    """A readable name for a recent target key (resolved lazily; recent lists are short)."""
    try:
        return resolve_target(key).label
    except DomainError:
        return key


@register.filter
def phone(number: str) -> str:
    """An E.164 number as people read it (+33 6 12 34 56 78)."""
    return display_phone(number) if number else ""


@register.filter
def hms(seconds) -> str:
    """Seconds as h:mm:ss (or m:ss under an hour); an empty value as —."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(round(float(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@register.filter
def get(mapping, key):
    """mapping[key] in a template (0 when missing)."""
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return 0


@register.simple_tag
def both_times(moment: datetime | None, agent_zone, customer_zone, fmt: str = "D j M, H:i"):
    """A time in the agent's zone, with the customer's local time beside it when their clocks differ
    (the customer's date only when it is another day there)."""
    if moment is None:
        return ""
    mine = timezone.localtime(moment, ZoneInfo(str(agent_zone)))
    theirs = timezone.localtime(moment, ZoneInfo(str(customer_zone)))
    shown = format_html(
        '<time datetime="{}" data-testid="time-agent">{}</time>', moment.isoformat(), formats.date_format(mine, fmt)
    )
    if mine.utcoffset() == theirs.utcoffset():
        return shown
    theirs_fmt = "H:i" if mine.date() == theirs.date() else fmt
    return format_html(
        '{} <span class="their-time" data-testid="time-customer" title="{}">· {}</span>',
        shown,
        gettext("The customer's local time (%(zone)s)") % {"zone": customer_zone},
        gettext("%(time)s in %(city)s") % {"time": formats.date_format(theirs, theirs_fmt), "city": zone_city(customer_zone)},
    )


@register.simple_tag
def time_span(start: datetime, end: datetime, agent_zone, customer_zone, fmt: str = "D j M, H:i"):
    """A span of time in the agent's zone, its day said once when it starts and ends on the same day ("Sun 6 Dec,
    07:38 – 09:38"), with the customer's local times beside it when their clocks differ."""
    mine = [timezone.localtime(t, ZoneInfo(str(agent_zone))) for t in (start, end)]
    theirs = [timezone.localtime(t, ZoneInfo(str(customer_zone))) for t in (start, end)]

    def span(pair, first_fmt: str) -> tuple[str, str]:
        return formats.date_format(pair[0], first_fmt), formats.date_format(
            pair[1], "H:i" if pair[0].date() == pair[1].date() else fmt
        )

    a, b = span(mine, fmt)
    shown = format_html('<time datetime="{}">{}</time> – <time datetime="{}">{}</time>', start.isoformat(), a, end.isoformat(), b)
    if mine[0].utcoffset() == theirs[0].utcoffset() and mine[1].utcoffset() == theirs[1].utcoffset():
        return shown
    c, d = span(theirs, "H:i" if theirs[0].date() == mine[0].date() else fmt)
    return format_html(
        '{} <span class="their-time" data-testid="time-customer" title="{}">· {}</span>',
        shown,
        gettext("The customer's local time (%(zone)s)") % {"zone": customer_zone},
        gettext("%(time)s in %(city)s") % {"time": f"{c}–{d}", "city": zone_city(customer_zone)},
    )


# --- A region's version, derived from what it renders -------------------------------------------------------------
#
# `{% versioned %}<section … data-version="@">…</section>{% endversioned %}`: the region is rendered, and its version
# is a digest of that markup. The page skips a pushed region whose version it already shows (a repeated push does
# not wipe what the agent is typing), so the digest leaves out only what differs between two renders of the same
# state, or what the page keeps of its own: the CSRF token (masked anew on every render, and only in a page: a
# push's forms send the page's header), an offer card's signed
# render time, the push's swap attribute, and the fields the page preserves across swaps (`hx-preserve`: typed text,
# an open keypad). Anything else the region shows moves the version: no hand-kept list of fields can miss one.

VERSION_SLOT = 'data-version="@"'
_UNVERSIONED = [
    (re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">'), ""),  # a page's, not a push's
    (re.compile(r' name="shown" value="[^"]*"'), ""),
    (re.compile(r' hx-swap-oob="true"'), ""),
    (re.compile(r"(<textarea[^>]*hx-preserve[^>]*>).*?</textarea>", re.S), r"\1"),
    (re.compile(r"(<select[^>]*hx-preserve[^>]*>).*?</select>", re.S), r"\1"),
    (re.compile(r'(<input[^>]*hx-preserve[^>]*?) value="[^"]*"'), r"\1"),
]


def version_of(html: str) -> str:
    for pattern, replacement in _UNVERSIONED:
        html = pattern.sub(replacement, html)
    return hashlib.sha1(html.encode(), usedforsecurity=False).hexdigest()[:12]


class VersionedNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        html = self.nodelist.render(context)
        return html.replace(VERSION_SLOT, f'data-version="{version_of(html)}"', 1)


@register.tag("versioned")
def do_versioned(parser, token):
    nodelist = parser.parse(("endversioned",))
    parser.delete_first_token()
    return VersionedNode(nodelist)


@register.filter
def percent(rate) -> str:
    """A share (0…1) as a whole percentage in the page's language; an empty value as —."""
    if rate is None or rate == "":
        return "—"
    return gettext("%(n)s %%") % {"n": formats.number_format(round(100 * float(rate)), 0, use_l10n=True)}


@register.filter
def dial_outcome(key: str) -> str:
    """A dial outcome as the analytics count it (`analytics.dial_outcome`), in the page's language."""
    if key == "connected":
        return gettext("Connected")
    if key == "other":
        return gettext("Other")
    return gettext(CallOutcome(key).label)
