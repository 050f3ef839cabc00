"""Who may sign in, and how: single sign-on through the organisation's OpenID Connect provider, and local passwords.

Single sign-on is mozilla-django-oidc's authorisation code flow with PKCE and a nonce (settings from the environment:
workspace/oidc.py). `ProviderBackend` checks the ID token (signature, expiry, nonce, and the issuer and audience that
the library leaves unchecked), reads the user's claims (the ID token's and the userinfo endpoint's), and maps the groups
claim to Ringback's roles; `lifecycle.do_apply_provider_roles` writes them at every sign-in. Accounts made this way
have no password (Django's unusable one): that is what tells them from local accounts, which keep passwords (for
everyone, or only for break-glass admins: RINGBACK_LOCAL_PASSWORDS) and the second factor (callbacks.twofactor).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.translation import gettext
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import lifecycle, twofactor
from .auth import AgentBackend


class SignInRefused(Exception):
    """The provider vouched for the person, and Ringback still signs them in as nobody (the message says why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def provider_name() -> str:
    """The identity provider's name as users know it (RINGBACK_OIDC_PROVIDER_NAME), or words for it without SSO."""
    return getattr(settings, "RINGBACK_OIDC_PROVIDER_NAME", "") or gettext("your organisation's sign-in")


def may_use_password(user: AbstractBaseUser) -> bool:
    """Whether this account may sign in with its password (Ringback's form, Django admin's): anyone's, or with
    RINGBACK_LOCAL_PASSWORDS=admins only a break-glass account's (a superuser, or the Admin role)."""
    return settings.RINGBACK_LOCAL_PASSWORDS == "all" or twofactor.is_admin_role(user)


def password_refusal() -> str:
    return gettext("Passwords here are for administrators' emergency accounts only. Sign in with %(provider)s instead.") % {
        "provider": provider_name()
    }


def no_role_refusal() -> str:
    return gettext(
        "%(provider)s signed you in, but gives you no Ringback role (Agent, Supervisor or Admin). "
        "Ask your IT team to add you to a Ringback group."
    ) % {"provider": provider_name()}


def roles_from(claims: dict) -> frozenset[str]:
    """The Ringback roles the groups claim maps to (RINGBACK_OIDC_ROLES); groups it does not name are ignored."""
    groups = claims.get(settings.RINGBACK_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):  # some providers send a single group as a string
        groups = [groups]
    mapping = settings.RINGBACK_OIDC_ROLES
    return frozenset(mapping[group] for group in groups if isinstance(group, str) and group in mapping)


def queues_from(claims: dict) -> list[str] | None:
    """The queues' slugs the queues claim names; None when the provider sent no such claim (an admin sets them)."""
    name = settings.RINGBACK_OIDC_QUEUES_CLAIM
    if name not in claims:
        return None
    value = claims[name]
    values = [value] if isinstance(value, str) else value or []
    return [slug for slug in values if isinstance(slug, str)]


def provider_logout_url(request: HttpRequest) -> str | None:
    """Where to send the browser so the provider ends its own session too (RP-initiated logout), then back to the
    sign-in page; None when the provider publishes no end_session_endpoint or this session did not sign in with it."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.RINGBACK_SSO and settings.RINGBACK_OIDC_END_SESSION_ENDPOINT and id_token):
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL)),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{settings.RINGBACK_OIDC_END_SESSION_ENDPOINT}?{query}"


class ProviderBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, with Ringback's identity rules: the user is the one whose username is the
    username claim (RINGBACK_OIDC_USERNAME_CLAIM), never a local account of the same name; their roles and queues
    are the claims', applied at every sign-in; no role, no sign-in."""

    def get_user(self, user_id):
        return AgentBackend().get_user(user_id)  # the session's user with its agent profile, in one query

    def verify_token(self, token, **kwargs):
        """The library checks the signature, the expiry and the nonce; Ringback also checks who issued the token
        and for whom: a token of another issuer, or issued to another client, signs nobody in."""
        payload = super().verify_token(token, **kwargs)
        if payload.get("iss") != settings.RINGBACK_OIDC_ISSUER:
            raise SuspiciousOperation("The ID token's issuer is not the configured provider.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued to another client.")
        if len(audiences) > 1 and payload.get("azp") != settings.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("The ID token's authorised party is another client.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint's (which must be about the same subject)."""
        info = super().get_userinfo(access_token, id_token, payload)
        if info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
        return {**payload, **info}

    def username_of(self, claims: dict) -> str:
        return claims.get(settings.RINGBACK_OIDC_USERNAME_CLAIM) or ""

    def verify_claims(self, claims) -> bool:
        username = self.username_of(claims)
        return isinstance(username, str) and 0 < len(username) <= 150

    def filter_users_by_claims(self, claims):
        return self.UserModel._default_manager.filter(username=self.username_of(claims))

    def create_user(self, claims):
        if not roles_from(claims):
            raise SignInRefused(no_role_refusal())
        # No password (an unusable one): this account signs in through the provider only.
        user = get_user_model()._default_manager.create_user(self.username_of(claims), email=claims.get("email") or "")
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        if user.has_usable_password():
            raise SignInRefused(
                gettext(
                    "Ringback has a local account named %(username)s, which signs in with its password, not through "
                    "%(provider)s. Ask an administrator."
                )
                % {"username": user.get_username(), "provider": provider_name()}
            )
        if not user.is_active:
            raise SignInRefused(gettext("This account is switched off in Ringback. Ask an administrator."))
        roles = roles_from(claims)
        user = lifecycle.do_apply_provider_roles(
            user_id=user.pk, roles=roles, queues=queues_from(claims), display_name=claims.get("name") or ""
        )
        if not roles:
            raise SignInRefused(no_role_refusal())
        return user
