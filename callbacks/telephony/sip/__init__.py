"""The browser softphone's SIP side: agents' time-limited SIP credentials, and the keys that sign what kamailio
reports of each call.

Credentials follow kamailio's auth_ephemeral (username format 1): the username is "<expiry>:<user>" and the
password is base64(HMAC-SHA256(secret, username)), so kamailio checks them with the shared secret alone, and
nothing long-lived is ever put in a page.

kamailio 5.6 has no HMAC function for its reports, so they are signed with a nested keyed hash over hex
(the HMAC construction, with the inner and outer keys derived from the secret and the inner digest in hex):
    signature = sha256_hex(outer_key + sha256_hex(inner_key + body))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings


def secret() -> str:
    return settings.RINGBACK_SIP_SECRET or settings.SECRET_KEY


def credentials(user: str, *, now: float | None = None) -> dict:
    """Time-limited SIP credentials for `user` (an agent's SIP user, a customer line in the demo)."""
    expires = int((now or time.time()) + settings.RINGBACK_SIP_CREDENTIAL_HOURS * 3600)
    username = f"{expires}:{user}"
    password = base64.b64encode(hmac.new(secret().encode(), username.encode(), hashlib.sha256).digest()).decode()
    return {"username": username, "password": password, "expires": expires, "user": user}


def ice_servers(user: str, *, now: float | None = None) -> list[dict]:
    """The page's ICE servers: TURN (coturn's `use-auth-secret`: username "<expiry>:<user>", credential
    base64(HMAC-SHA1(turn secret, username))) when RINGBACK_SIP_TURN_URLS is set, good as long as the SIP ones."""
    urls = [u.strip() for u in settings.RINGBACK_SIP_TURN_URLS.split(",") if u.strip()]
    if not urls:
        return []
    expires = int((now or time.time()) + settings.RINGBACK_SIP_CREDENTIAL_HOURS * 3600)
    username = f"{expires}:{user}"
    key = settings.RINGBACK_SIP_TURN_SECRET.encode()
    credential = base64.b64encode(hmac.new(key, username.encode(), hashlib.sha1).digest()).decode()
    return [{"urls": urls, "username": username, "credential": credential}]


def keys() -> tuple[str, str]:
    """The inner and outer keys of the reports' signature, derived from the secret (what sip_config writes)."""
    base = hashlib.sha256(b"ringback-sip-events:" + secret().encode()).hexdigest()
    return hashlib.sha256(b"inner:" + base.encode()).hexdigest(), hashlib.sha256(b"outer:" + base.encode()).hexdigest()


def sign(body: str) -> str:
    inner_key, outer_key = keys()
    inner = hashlib.sha256((inner_key + body).encode()).hexdigest()
    return hashlib.sha256((outer_key + inner).encode()).hexdigest()


def verify(body: str, signature: str) -> bool:
    return hmac.compare_digest(sign(body), signature)


def agent_user(agent_id: int) -> str:
    return f"agent-{agent_id}"


def enabled() -> bool:
    return settings.RINGBACK_TELEPHONY.endswith(".BrowserSoftphone")


def page_config(agent_id: int) -> dict | None:
    """What the agent's page needs to register its softphone (None with another adapter): the WebSocket address,
    the SIP URI, and credentials good for RINGBACK_SIP_CREDENTIAL_HOURS (a shift), renewed with every full page."""
    if not enabled():
        return None
    user = agent_user(agent_id)
    c = credentials(user)
    return {
        "ws": settings.RINGBACK_SIP_WS_URL,
        "uri": f"sip:{user}@{settings.RINGBACK_SIP_DOMAIN}",
        "domain": settings.RINGBACK_SIP_DOMAIN,
        "username": c["username"],
        "password": c["password"],
        "expires": c["expires"],
        "ice_servers": ice_servers(user),
    }
