"""The SIP side tried as an attacker would (issue #22), against the real kamailio: each attempt is refused, and
kamailio says so in its log as a security event."""

import hashlib
import re
import secrets
import socket
import time

import pytest

from bench.sipstack import Line
from callbacks.telephony.sip import agent_user, credentials
from callbacks.telephony.sip import health as sip_health
from tests.servers import ROOT


def _log(sip) -> str:
    return (sip.workdir / "sip.log").read_text(errors="replace")


def _registration(line: Line, timeout: float = 15) -> str:
    """The final answer kamailio gave the line's authenticated REGISTER, from baresip's SIP trace."""
    import re
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = re.search(r"(SIP/2.0 (?:200|403)[^\r\n]*).*?CSeq: *\d+ REGISTER", line.sip_trace(), re.S)
        if answer:
            return answer.group(1).strip()
        time.sleep(0.1)
    raise AssertionError(f"no answer to {line.number}'s REGISTER in its trace")


def test_a_register_for_an_agent_with_another_users_credentials_is_refused(sip):
    """Credentials Ringback issued for one user (here a customer line's) register that user only: an impostor beside
    an agent's browser, who would ring with every transfer and consultation to that agent, gets 403."""
    own = sip.line("+33612000077", credentials("+33612000077"))
    assert _registration(own) == "SIP/2.0 200 OK"  # the same kind of credentials, for their own user: accepted
    impostor = sip.line(agent_user(5), credentials("+33612000078"))
    assert _registration(impostor) == "SIP/2.0 403 Forbidden: not your address"
    assert f"security: REGISTER of sip:{agent_user(5)}@" in _log(sip)


def _digest(
    ws, method: str, from_user: str, target: str, creds: dict, *, authorise: bool = True, headers: tuple[str, ...] = ()
) -> str:
    """One out-of-dialog request on an open SIP websocket, as a browser sends it (REGISTER registers `from_user`,
    the others go to the number `target`), answering kamailio's challenge with `creds`; the final status line."""
    host = "127.0.0.1"
    uri = f"sip:{host}" if method == "REGISTER" else f"sip:{target}@{host}"
    to = f"sip:{from_user}@{host}" if method == "REGISTER" else uri
    call_id, tag = secrets.token_hex(8), secrets.token_hex(4)

    def message(cseq: int, auth: str = "") -> str:
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/WS attacker.invalid;branch=z9hG4bK{secrets.token_hex(6)};rport",
            "Max-Forwards: 70",
            f"To: <{to}>",
            f"From: <sip:{from_user}@{host}>;tag={tag}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{from_user}@attacker.invalid;transport=ws>",
            *([f"Refer-To: <sip:{target}@{host}>"] if method == "REFER" else []),
            *([auth] if auth else []),
            *headers,
            "Content-Length: 0",
        ]
        return "\r\n".join(lines) + "\r\n\r\n"

    def final() -> str:
        while True:
            status = ws.recv(timeout=10).split("\r\n", 1)[0]
            if not re.match(r"SIP/2.0 1\d\d", status):
                return status

    ws.send(message(1))
    challenge = ws.recv(timeout=10)
    status = challenge.split("\r\n", 1)[0]
    if not re.match(r"SIP/2.0 40[17]", status) or not authorise:
        return status
    nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
    realm = re.search(r'realm="([^"]+)"', challenge).group(1)

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    response = md5(f"{md5(f'{creds["username"]}:{realm}:{creds["password"]}')}:{nonce}:{md5(f'{method}:{uri}')}")
    header = "Authorization" if status.startswith("SIP/2.0 401") else "Proxy-Authorization"
    auth = (
        f'{header}: Digest username="{creds["username"]}", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", response="{response}", algorithm=MD5'
    )
    ws.send(message(2, auth))
    return final()


def _ws_request(
    method: str, from_user: str, to_number: str, creds: dict, *, origin: str, authorise: bool = True, headers: tuple = ()
) -> str:
    """One out-of-dialog request over a fresh SIP websocket from one of Ringback's pages (`origin`)."""
    from websockets.sync.client import connect

    with connect("ws://127.0.0.1:8600", subprotocols=["sip"], origin=origin) as ws:
        return _digest(ws, method, from_user, to_number, creds, authorise=authorise, headers=headers)


def test_an_agent_cannot_call_or_refer_as_another_agent_over_the_websocket(sip, server):
    """A signed-in agent holds valid credentials for their own SIP user. An INVITE or REFER sent as another agent
    (the From a forged call outcome needs) is refused with 403; the same request as themselves passes the check
    (no line answers that number here: 404)."""
    mine = credentials(agent_user(5))
    for method in ("INVITE", "REFER"):
        as_bob = _ws_request(method, agent_user(6), "+33612000079", mine, origin=server.url)
        assert as_bob == "SIP/2.0 403 Forbidden: not your address"
        as_self = _ws_request(method, agent_user(5), "+33612000079", mine, origin=server.url)
        assert as_self != "SIP/2.0 403 Forbidden: not your address"
    unauthorised = _ws_request("INVITE", agent_user(6), "+33612000079", mine, origin=server.url, authorise=False)
    assert unauthorised.startswith("SIP/2.0 407")
    assert f"security: INVITE from sip:{agent_user(6)}@127.0.0.1 with the credentials of" in _log(sip)


def test_the_monitoring_header_passes_only_from_a_supervisors_browser_to_an_agent(sip, server):
    """The header that lets a supervisor's call into an agent's page (Listen, Whisper, Barge) is kamailio's to keep or
    drop: an agent's browser sending it to another agent (with its own valid credentials), or a supervisor's browser
    sending it to a number, has it removed and logged; the agent's page then sees an ordinary call, never a monitor."""
    agent = credentials(agent_user(5))
    _ws_request("INVITE", agent_user(5), agent_user(6), agent, origin=server.url, headers=("X-Ringback-Monitor: forged",))
    assert f"security: X-Ringback-Monitor from sip:{agent_user(5)}@" in _log(sip)
    supervisor = credentials("supervisor-7")
    _ws_request("INVITE", "supervisor-7", "+33612000079", supervisor, origin=server.url, headers=("X-Ringback-Monitor: t",))
    assert "security: X-Ringback-Monitor from sip:supervisor-7@" in _log(sip)


def test_an_agent_cannot_borrow_a_call_reference_to_reach_a_number(sip, server):
    """An agent's browser, with its own valid credentials, names a call reference Ringback never gave it (the
    forged outcome and the toll fraud of issue #22 in one): kamailio asks Ringback whose call that is before the
    INVITE leaves, Ringback refuses, and the line never rings."""
    line = sip.line("+33612000081", credentials("+33612000081"))
    assert _registration(line) == "SIP/2.0 200 OK"
    mine = credentials(agent_user(5))
    answer = _ws_request(
        "INVITE", agent_user(5), "+33612000081", mine, origin=server.url, headers=("X-Ringback-Call: call-borrowed",)
    )
    assert answer == "SIP/2.0 403 Forbidden: not a call Ringback placed"
    assert "INVITE from agent-5 to +33612000081 refused: not the call Ringback placed as call-borrowed" in _log(sip)
    _wait_for(
        lambda: "SIP report refused (mismatch)" in _server_log(server) and "INVITE for call-borrowed" in _server_log(server)
    )
    assert "CALL_INCOMING" not in line.sip_trace() and "INVITE sip:" not in line.sip_trace()


def test_an_agent_cannot_dial_a_number_ringback_did_not_place(sip, server):
    """The toll fraud of issue #22 from inside: an agent's browser, with its own valid credentials, dials a reachable
    number in the dial plan but names no call of Ringback's. kamailio refuses it; the line never rings."""
    line = sip.line("+33612000082", credentials("+33612000082"))
    assert _registration(line) == "SIP/2.0 200 OK"
    answer = _ws_request("INVITE", agent_user(5), "+33612000082", credentials(agent_user(5)), origin=server.url)
    assert answer == "SIP/2.0 403 Forbidden: not a call Ringback placed"
    assert "INVITE from agent-5 to +33612000082 refused: no call reference of Ringback's" in _log(sip)
    assert "INVITE sip:" not in line.sip_trace()


def send_invite(sip_port: int, to_number: str, *, source: str = "127.0.0.1", headers: tuple[str, ...] = ()) -> socket.socket:
    """An out-of-dialog INVITE without credentials, sent to kamailio's UDP port from `source` (any 127/8 address is
    this host's loopback); the socket its answers come back on (the caller closes it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    port = s.getsockname()[1]
    uri = f"sip:{to_number}@127.0.0.1"
    message = "\r\n".join(
        [
            f"INVITE {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
            "Max-Forwards: 70",
            f"To: <{uri}>",
            f"From: <sip:attacker@{source}>;tag={secrets.token_hex(4)}",
            f"Call-ID: {secrets.token_hex(8)}",
            "CSeq: 1 INVITE",
            f"Contact: <sip:attacker@{source}:{port}>",
            *headers,
            "Content-Length: 0",
        ]
    )
    s.sendto((message + "\r\n\r\n").encode(), ("127.0.0.1", sip_port))
    return s


def _udp_request(sip_port: int, to_number: str, *, source: str = "127.0.0.1", headers: tuple[str, ...] = ()) -> str:
    """An out-of-dialog INVITE from nowhere kamailio knows (no credentials); its final answer."""
    with send_invite(sip_port, to_number, source=source, headers=headers) as s:
        s.settimeout(10)
        while True:
            status = s.recv(65536).decode(errors="replace").split("\r\n", 1)[0]
            if not status.startswith("SIP/2.0 1"):
                return status


def test_an_unauthenticated_invite_never_reaches_a_number(sip):
    """The forged call outcome of issue #22: an INVITE from nowhere, for a registered line, carrying a call's reference.
    It is challenged (407) and never relayed: the line does not ring, and no dialog reports to Ringback."""
    line = sip.line("+33612000080", credentials("+33612000080"))
    assert _registration(line) == "SIP/2.0 200 OK"
    from django.conf import settings

    answer = _udp_request(settings.RINGBACK_SIP_PORT, "+33612000080", headers=("X-Ringback-Call: CALL-forged",))
    assert answer.startswith("SIP/2.0 407")
    assert _udp_request(settings.RINGBACK_SIP_PORT, "+19005550123").startswith("SIP/2.0 407"), "premium: no relay either"
    assert not line.seen("CALL_INCOMING")
    assert "INVITE sip:" not in line.sip_trace()


def test_the_sip_websocket_opens_for_ringbacks_pages_only(sip, server):
    """Another site's page (or a script naming no origin) cannot open kamailio's websocket with an agent's browser."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    for origin in ("https://evil.example", None):
        with pytest.raises(InvalidStatus) as refused, connect("ws://127.0.0.1:8600", subprotocols=["sip"], origin=origin):
            pass
        assert refused.value.response.status_code == 403
    with connect("ws://127.0.0.1:8600", subprotocols=["sip"], origin=server.url, open_timeout=10):
        pass  # Ringback's own page: opened
    assert "security: SIP websocket from origin https://evil.example" in _log(sip)


def _options(source: str, sip_port: int, count: int = 1, timeout: float = 3) -> list[str]:
    """`count` OPTIONS sent at once from `source` (any 127/8 address is this host's loopback); the status lines of
    the answers that came back within `timeout` of the last one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        port = s.getsockname()[1]
        for _ in range(count):
            message = "\r\n".join(
                [
                    "OPTIONS sip:+33612000099@127.0.0.1 SIP/2.0",
                    f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
                    "Max-Forwards: 70",
                    "To: <sip:+33612000099@127.0.0.1>",
                    f"From: <sip:scanner@{source}>;tag={secrets.token_hex(4)}",
                    f"Call-ID: {secrets.token_hex(8)}",
                    "CSeq: 1 OPTIONS",
                    "Content-Length: 0",
                ]
            )
            s.sendto((message + "\r\n\r\n").encode(), ("127.0.0.1", sip_port))
        answers: list[str] = []
        s.settimeout(timeout)
        while len(answers) < count:
            try:
                answers.append(s.recv(65536).decode(errors="replace").split("\r\n", 1)[0])
            except TimeoutError:
                break
        return answers


def _server_log(server) -> str:
    return (ROOT / "var" / f"browser-server-{server.port}.log").read_text(errors="replace")


def _wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("not true in time")
        time.sleep(0.1)


def test_a_flood_is_blocked_and_reported_while_everyone_else_is_served(sip, server):
    """A scanner's burst from one address: kamailio stops answering it (pike, then a 5-minute block in htable), says
    so in its log, and tells Ringback, which logs and counts it; other addresses are served as before."""
    from django.conf import settings

    flooder = "127.0.0.66"
    answers = _options(flooder, settings.RINGBACK_SIP_PORT, count=200, timeout=1.5)
    assert 0 < len(answers) < 200, f"the first requests are answered, not the flood: {len(answers)} answers"
    assert _options(flooder, settings.RINGBACK_SIP_PORT, timeout=1.5) == [], "still blocked after the burst"
    assert _options("127.0.0.1", settings.RINGBACK_SIP_PORT, timeout=10) != [], "another address is served"
    assert sip_health.kamailio() >= 0, "Ringback's probe too"
    assert f"security: {flooder} blocked for 5 minutes (flood)" in _log(sip)
    _wait_for(lambda: f"ringback: security: kamailio blocked {flooder} (flood)" in _server_log(server))


def test_repeated_wrong_credentials_block_the_address(sip, server):
    """Guessing passwords: ten REGISTERs with wrong credentials from one address, and it is blocked."""
    from django.conf import settings

    guesser = "127.0.0.67"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((guesser, 0))
        port = s.getsockname()[1]
        statuses = []
        for attempt in range(11):
            # Nine wrong answers are challenged again at once; the tenth blocks the address: no answer, then or after.
            s.settimeout(10 if attempt < 9 else 1.5)
            user = agent_user(5)
            register = "\r\n".join(
                [
                    "REGISTER sip:127.0.0.1 SIP/2.0",
                    f"Via: SIP/2.0/UDP {guesser}:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
                    "Max-Forwards: 70",
                    f"To: <sip:{user}@127.0.0.1>",
                    f"From: <sip:{user}@127.0.0.1>;tag={secrets.token_hex(4)}",
                    f"Call-ID: {secrets.token_hex(8)}",
                    f"CSeq: {attempt + 1} REGISTER",
                    f"Contact: <sip:{user}@{guesser}:{port}>",
                    f'Authorization: Digest username="9999999999:{user}", realm="127.0.0.1", nonce="x{attempt}", '
                    f'uri="sip:127.0.0.1", response="{secrets.token_hex(16)}", algorithm=MD5',
                    "Content-Length: 0",
                ]
            )
            s.sendto((register + "\r\n\r\n").encode(), ("127.0.0.1", settings.RINGBACK_SIP_PORT))
            try:
                statuses.append(s.recv(65536).decode(errors="replace").split("\r\n", 1)[0])
            except TimeoutError:
                statuses.append(None)
    assert all(status.startswith("SIP/2.0 401") for status in statuses[:9]), statuses
    assert statuses[9:] == [None, None], statuses
    assert f"security: {guesser} blocked for 5 minutes (auth)" in _log(sip)
    _wait_for(lambda: f"ringback: security: kamailio blocked {guesser} (auth)" in _server_log(server))


def test_an_agent_cannot_dial_around_the_dial_plan(sip, server):
    """Ringback refuses a number outside the dial plan before a page dials it; a browser that sends the INVITE or
    REFER itself, with its agent's own valid credentials, is refused by kamailio as well."""
    mine = credentials(agent_user(5))
    for number in ("+19005550123", "+33899123456", "0899123456"):
        answer = _ws_request("INVITE", agent_user(5), number, mine, origin=server.url)
        assert answer == "SIP/2.0 403 Forbidden: not in the dial plan", number
    answer = _ws_request("REFER", agent_user(5), "+33899123456", mine, origin=server.url)
    assert answer == "SIP/2.0 403 Forbidden: not in the dial plan"
    assert "INVITE to +19005550123 from sip:agent-5@127.0.0.1 at 127.0.0.1 refused: a blocked range" in _log(sip)


def test_during_a_rotation_both_secrets_register_and_no_other(sip, settings):
    """A secret being rotated out (RINGBACK_SIP_SECRET_PREVIOUS) still registers what it signed while pages move to
    the new one; credentials signed with any other secret get another challenge, never a registration."""
    from .conftest import ROTATING

    for number, shared, answer in (
        ("+33612000081", ROTATING["RINGBACK_SIP_SECRET_PREVIOUS"], "SIP/2.0 200 OK"),
        ("+33612000082", settings.RINGBACK_SIP_SECRET, "SIP/2.0 200 OK"),
    ):
        settings.RINGBACK_SIP_SECRET = shared  # credentials() signs with the current secret
        line = sip.line(number, credentials(number))
        assert _registration(line) == answer, number
    settings.RINGBACK_SIP_SECRET = "an-attackers-guess-at-the-secret-0000000"
    forged = sip.line("+33612000083", credentials("+33612000083"))
    # Its first REGISTER is challenged, and so is its answer with the forged credentials.
    _wait_for(lambda: forged.sip_trace().count("SIP/2.0 401 Unauthorized") >= 2)
    forged.stop()  # (its retries would count as wrong credentials from this host, the whole suite's address)
    assert "SIP/2.0 200 OK" not in forged.sip_trace()
