"""The browser softphone's SIP side: agents' time-limited SIP credentials, and the token that authenticates what
kamailio reports of each call.

Credentials follow kamailio's auth_ephemeral (username format 1): the username is "<expiry>:<user>" and the
password is base64(HMAC-SHA256(secret, username)), so kamailio checks them with the shared secret alone, and
nothing long-lived is ever put in a page.

kamailio's reports (`/sip/events`) travel on a private channel: kamailio's crypto module in the version Debian
ships (5.6) has no HMAC function (only AES and a SHA-1 Call-ID generator), and a hash built by hand in its script
is not HMAC. So kamailio POSTs each report from an address Ringback trusts (RINGBACK_SIP_PROXY_ADDRESSES: loopback,
or its private network), with a bearer token derived from the secret, in the body and a header, never in the URL
(so never in an access log); Ringback checks the address, the token, the report's time and its call.

Rotation: RINGBACK_SIP_SECRET_PREVIOUS stays valid beside RINGBACK_SIP_SECRET (kamailio is given both, Ringback
accepts both tokens) while pages and kamailio move to the new one; credentials are always issued with the new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings


def secret() -> str:
    """The secret shared with kamailio. Without RINGBACK_SIP_SECRET (development only: the production profile
    refuses to start), one derived from SECRET_KEY, so that Django's own key is never written into kamailio.cfg."""
    if settings.RINGBACK_SIP_SECRET:
        return settings.RINGBACK_SIP_SECRET
    return hmac.new(settings.SECRET_KEY.encode(), b"ringback-sip-secret", hashlib.sha256).hexdigest()


def secrets() -> list[str]:
    """Every secret valid now: the current one first, then the one being rotated out."""
    previous = settings.RINGBACK_SIP_SECRET_PREVIOUS
    return [secret()] + ([previous] if previous and previous != secret() else [])


def credentials(user: str, *, now: float | None = None, hours: float | None = None) -> dict:
    """Time-limited SIP credentials for `user` (an agent's SIP user, a customer line in the demo, a line of the
    voice application), good for `hours` (RINGBACK_SIP_CREDENTIAL_HOURS when not given)."""
    expires = int((now or time.time()) + (hours or settings.RINGBACK_SIP_CREDENTIAL_HOURS) * 3600)
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


def proxy_token(shared: str | None = None) -> str:
    """The token kamailio sends with each report (derived from a secret: the secret itself never travels)."""
    return hmac.new((shared or secret()).encode(), b"ringback-sip-proxy-reports", hashlib.sha256).hexdigest()


def proxy_token_valid(token: str) -> bool:
    return any(hmac.compare_digest(proxy_token(s), token) for s in secrets())


def agent_user(agent_id: int) -> str:
    return f"agent-{agent_id}"


def supervisor_user(user_id: int) -> str:
    """A supervisor's SIP user: their board's softphone, which only calls agents' pages (monitoring)."""
    return f"supervisor-{user_id}"


def enabled() -> bool:
    return settings.RINGBACK_TELEPHONY.endswith(".BrowserSoftphone")


def page_config(agent_id: int) -> dict | None:
    """What the agent's page needs to register its softphone (None with another adapter): the WebSocket address,
    the SIP URI, and credentials good for RINGBACK_SIP_CREDENTIAL_HOURS (a shift), renewed with every full page."""
    return user_page_config(agent_user(agent_id))


def user_page_config(user: str) -> dict | None:
    """A softphone's page configuration for the SIP user `user` (an agent's, or a supervisor's board)."""
    if not enabled():
        return None
    c = credentials(user)
    return {
        "ws": settings.RINGBACK_SIP_WS_URL,
        "uri": f"sip:{user}@{settings.RINGBACK_SIP_DOMAIN}",
        "domain": settings.RINGBACK_SIP_DOMAIN,
        "username": c["username"],
        "password": c["password"],
        "expires": c["expires"],
        "ice_servers": ice_servers(user),
        "ice_policy": settings.RINGBACK_SIP_TURN_POLICY,
    }
