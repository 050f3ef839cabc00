"""The SIP side tried as an attacker would (issue #22), against the real kamailio: each attempt is refused, and
kamailio says so in its log as a security event."""

from bench.sipstack import Line
from callbacks.telephony.sip import agent_user, credentials


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


def _ws_request(method: str, from_user: str, to_number: str, creds: dict, *, authorise: bool = True) -> str:
    """One out-of-dialog request over kamailio's SIP websocket, as a browser would send it, answering the proxy's
    challenge with `creds`; the final status line."""
    import hashlib
    import re
    import secrets

    from websockets.sync.client import connect

    host = "127.0.0.1"
    uri = f"sip:{to_number}@{host}"
    call_id, tag = secrets.token_hex(8), secrets.token_hex(4)

    def message(cseq: int, auth: str = "") -> str:
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/WS attacker.invalid;branch=z9hG4bK{secrets.token_hex(6)};rport",
            "Max-Forwards: 70",
            f"To: <{uri}>",
            f"From: <sip:{from_user}@{host}>;tag={tag}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{from_user}@attacker.invalid;transport=ws>",
            *([f"Refer-To: <sip:{to_number}@{host}>"] if method == "REFER" else []),
            *([auth] if auth else []),
            "Content-Length: 0",
        ]
        return "\r\n".join(lines) + "\r\n\r\n"

    def final(ws) -> str:
        while True:
            status = ws.recv(timeout=10).split("\r\n", 1)[0]
            if not re.match(r"SIP/2.0 1\d\d", status):
                return status

    with connect("ws://127.0.0.1:8600", subprotocols=["sip"]) as ws:
        ws.send(message(1))
        challenge = ws.recv(timeout=10)
        status = challenge.split("\r\n", 1)[0]
        if not status.startswith("SIP/2.0 407") or not authorise:
            return status
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        realm = re.search(r'realm="([^"]+)"', challenge).group(1)

        def md5(text: str) -> str:
            return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

        response = md5(f"{md5(f'{creds["username"]}:{realm}:{creds["password"]}')}:{nonce}:{md5(f'{method}:{uri}')}")
        auth = (
            f'Proxy-Authorization: Digest username="{creds["username"]}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", algorithm=MD5'
        )
        ws.send(message(2, auth))
        return final(ws)


def test_an_agent_cannot_call_or_refer_as_another_agent_over_the_websocket(sip):
    """A signed-in agent holds valid credentials for their own SIP user. An INVITE or REFER sent as another agent
    (the From a forged call outcome needs) is refused with 403; the same request as themselves passes the check
    (no line answers that number here: 404)."""
    mine = credentials(agent_user(5))
    for method in ("INVITE", "REFER"):
        assert _ws_request(method, agent_user(6), "+33612000079", mine) == "SIP/2.0 403 Forbidden: not your address"
        assert _ws_request(method, agent_user(5), "+33612000079", mine) != "SIP/2.0 403 Forbidden: not your address"
    assert _ws_request("INVITE", agent_user(6), "+33612000079", mine, authorise=False).startswith("SIP/2.0 407")
    assert f"security: INVITE from sip:{agent_user(6)}@127.0.0.1 with the credentials of" in _log(sip)


def _udp_request(sip_port: int, to_number: str, *, headers: tuple[str, ...] = ()) -> str:
    """An out-of-dialog INVITE sent to kamailio's UDP port from nowhere it knows (no credentials); its answer."""
    import secrets
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(10)
        port = s.getsockname()[1]
        uri = f"sip:{to_number}@127.0.0.1"
        message = "\r\n".join(
            [
                f"INVITE {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
                "Max-Forwards: 70",
                f"To: <{uri}>",
                f"From: <sip:attacker@127.0.0.1>;tag={secrets.token_hex(4)}",
                f"Call-ID: {secrets.token_hex(8)}",
                "CSeq: 1 INVITE",
                f"Contact: <sip:attacker@127.0.0.1:{port}>",
                *headers,
                "Content-Length: 0",
            ]
        )
        s.sendto((message + "\r\n\r\n").encode(), ("127.0.0.1", sip_port))
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
    assert not line.seen("CALL_INCOMING")
    assert "INVITE sip:" not in line.sip_trace()
