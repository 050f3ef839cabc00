"""The skeleton desk's partials (`bench.skeleton.desk`), served by the skeleton's in-memory template loader."""

DESK_TEMPLATES = {
    "desk.html": '<div id="status" hx-swap-oob="true">{{ desk.ready|yesno:"Ready,Not Ready" }}</div>',
    "offer.html": '<div id="offers" hx-swap-oob="beforeend"><article data-offer="{{ call.pk }}">'
    "<p>{{ call.customer_name }}</p></article></div>",
    "window.html": '<div id="interaction" hx-swap-oob="beforeend"><section id="i{{ call.pk }}">'
    '<p>{{ call.customer_name }}</p><button hx-post="/interactions/{{ call.pk }}/done/">Done</button></section></div>',
}
