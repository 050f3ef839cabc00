"""Single sign-on's settings, read from the environment (RINGBACK_OIDC_*, RINGBACK_LOCAL_PASSWORDS) and checked at start.

Off unless RINGBACK_OIDC_CLIENT_ID is set; then the provider's issuer, endpoints and the client's secret are required,
and mozilla-django-oidc's own settings (OIDC_*) are derived from them. The endpoints are given one by one, as the
provider's discovery document (`<issuer>/.well-known/openid-configuration`) lists them: Ringback never needs the
provider to answer while it starts. docs/accounts.md, "Single sign-on", has the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

ROLES = ("Agent", "Supervisor", "Admin")
DEFAULT_ROLE_MAP = "Agent=Agent,Supervisor=Supervisor,Admin=Admin"
LOCAL_PASSWORDS = ("all", "admins")
ENDPOINTS = {
    "RINGBACK_OIDC_AUTHORIZATION_ENDPOINT": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "RINGBACK_OIDC_TOKEN_ENDPOINT": "OIDC_OP_TOKEN_ENDPOINT",
    "RINGBACK_OIDC_USERINFO_ENDPOINT": "OIDC_OP_USER_ENDPOINT",
    "RINGBACK_OIDC_JWKS_ENDPOINT": "OIDC_OP_JWKS_ENDPOINT",
}
BACKEND = "callbacks.identity.ProviderBackend"


def role_map(text: str) -> dict[str, str]:
    """ "group=Role,group=Role" → {group: Role}; a Role is Agent, Supervisor or Admin."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        group, sep, role = (s.strip() for s in pair.rpartition("="))
        if not sep or not group or role not in ROLES:
            raise ImproperlyConfigured(
                f"RINGBACK_OIDC_ROLES is a comma-separated list of group=Role, each Role one of {', '.join(ROLES)} "
                f"(not {pair!r}); for example: callback-agents=Agent,callback-leads=Supervisor,it-admins=Admin."
            )
        mapping[group] = role
    if not mapping:
        raise ImproperlyConfigured("RINGBACK_OIDC_ROLES maps no group to a role.")
    return mapping


def checked_url(name: str, value: str, production: bool) -> str:
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL (not {value!r}).")
    if production and url.scheme != "https":
        raise ImproperlyConfigured(f"{name} must be https:// when RINGBACK_PRODUCTION is on.")
    return value


def from_environment(env: Mapping[str, str], *, production: bool = False) -> dict[str, Any]:
    """The settings single sign-on sets (RINGBACK_SSO False and nothing else of it when it is off)."""
    local = env.get("RINGBACK_LOCAL_PASSWORDS", "all").strip().lower()
    if local not in LOCAL_PASSWORDS:
        raise ImproperlyConfigured("RINGBACK_LOCAL_PASSWORDS is all (anyone with a password) or admins (break-glass only).")
    client_id = env.get("RINGBACK_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        if local != "all":
            raise ImproperlyConfigured(
                "RINGBACK_LOCAL_PASSWORDS=admins needs single sign-on (RINGBACK_OIDC_CLIENT_ID and the rest): "
                "otherwise only admins could sign in."
            )
        return {"RINGBACK_SSO": False, "RINGBACK_LOCAL_PASSWORDS": local}
    required = ["RINGBACK_OIDC_ISSUER", "RINGBACK_OIDC_CLIENT_SECRET", *ENDPOINTS]
    missing = [name for name in required if not env.get(name, "").strip()]
    if missing:
        raise ImproperlyConfigured(f"RINGBACK_OIDC_CLIENT_ID is set: single sign-on also needs {', '.join(missing)}.")
    end_session = env.get("RINGBACK_OIDC_END_SESSION_ENDPOINT", "").strip()
    algorithm = env.get("RINGBACK_OIDC_SIGN_ALGO", "RS256").strip()
    if algorithm[:2] not in ("RS", "ES", "PS"):
        raise ImproperlyConfigured("RINGBACK_OIDC_SIGN_ALGO is the provider's asymmetric algorithm (RS256, ES256 …).")
    names = [*ENDPOINTS, *(["RINGBACK_OIDC_END_SESSION_ENDPOINT"] if end_session else [])]
    return {
        "RINGBACK_SSO": True,
        "RINGBACK_LOCAL_PASSWORDS": local,
        "RINGBACK_OIDC_PROVIDER_NAME": env.get("RINGBACK_OIDC_PROVIDER_NAME", "").strip() or "single sign-on",
        "RINGBACK_OIDC_ISSUER": env["RINGBACK_OIDC_ISSUER"].strip(),
        "RINGBACK_OIDC_END_SESSION_ENDPOINT": end_session,
        "RINGBACK_OIDC_USERNAME_CLAIM": env.get("RINGBACK_OIDC_USERNAME_CLAIM", "preferred_username").strip(),
        "RINGBACK_OIDC_GROUPS_CLAIM": env.get("RINGBACK_OIDC_GROUPS_CLAIM", "groups").strip(),
        "RINGBACK_OIDC_QUEUES_CLAIM": env.get("RINGBACK_OIDC_QUEUES_CLAIM", "queues").strip(),
        "RINGBACK_OIDC_ROLES": role_map(env.get("RINGBACK_OIDC_ROLES", DEFAULT_ROLE_MAP)),
        # mozilla-django-oidc's own settings
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": env["RINGBACK_OIDC_CLIENT_SECRET"],
        "OIDC_RP_SIGN_ALGO": algorithm,
        "OIDC_RP_SCOPES": env.get("RINGBACK_OIDC_SCOPES", "openid email profile").strip(),
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_STORE_ID_TOKEN": True,  # the id_token_hint of RP-initiated logout
        "OIDC_TIMEOUT": float(env.get("RINGBACK_OIDC_TIMEOUT", "10")),
        "OIDC_REDIRECT_REQUIRE_HTTPS": production,
        **{ENDPOINTS.get(name, name): checked_url(name, env[name].strip(), production) for name in names},
    }


def logout_origins(sso: Mapping[str, Any]) -> list[str]:
    """The provider's origin, where its end_session_endpoint is (the CSP's form-action must allow it), if any."""
    url = urlparse(sso.get("RINGBACK_OIDC_END_SESSION_ENDPOINT") or "")
    return [f"{url.scheme}://{url.netloc}"] if url.netloc else []
