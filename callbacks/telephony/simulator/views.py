"""The customer phone: a person plays the customer of one simulated call."""

import re

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from callbacks.phone import display_phone

from .models import SimCall
from .switch import SimulatedSwitch

DIGITS = re.compile(r"^[0-9*#]{1,20}$")


def _sim(token: str) -> SimCall:
    sim = SimCall.objects.filter(token=token).first()
    if sim is None:
        raise Http404("No such call")
    return sim


def phone(request: HttpRequest, token: str) -> HttpResponse:
    sim = _sim(token)
    template = "switchsim/phone.html#handset" if request.htmx else "switchsim/phone.html"
    # Ringback names the calls to a number consulted or conferenced "leg-…": that phone is not the customer's.
    far_end = sim.call_ref.startswith("leg-")
    return render(request, template, {"sim": sim, "number": display_phone(sim.number), "far_end": far_end})


@require_POST
def act(request: HttpRequest, token: str, what: str) -> HttpResponse:
    sim = _sim(token)
    switch = SimulatedSwitch()
    if what == "answer":
        switch.customer_answers(sim)
    elif what == "hangup":
        switch.customer_hangs_up(sim)
    elif what == "keys":
        digits = request.POST.get("digits", "")
        if not DIGITS.match(digits):
            return HttpResponseBadRequest("Keys are 0-9, * and #.")
        switch.customer_keys(sim, digits)
    else:
        raise Http404
    if request.htmx:
        return phone(request, token)
    return redirect("sim_phone", token=token)
