"""A second factor for local accounts: a TOTP authenticator app, with one-time recovery codes (django-otp's devices).

A user with a confirmed TOTP device signs in in two steps (password, then a code); `RINGBACK_ADMIN_TWO_FACTOR` (always
on in the production profile) makes it compulsory for local Admin-role accounts (single sign-on's accounts rely on the
identity provider's own second factor). Wrong codes are throttled per user by
django-otp itself: every failure doubles the wait before the device will check another code (1 s, 2 s, 4 s …), kept in
the database and reset only by a right code, so a correct password does not buy new guesses.
"""

from __future__ import annotations

import re
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

import segno
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .roles import ADMIN

RECOVERY_CODES = 10
DEVICE_NAME = "Authenticator app"
TOTP_CODE = re.compile(r"^\d{6}$")


def is_admin_role(user: AbstractBaseUser) -> bool:
    return bool(user.is_superuser or user.groups.filter(name=ADMIN).exists())


def totp_device(user: AbstractBaseUser, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def has_second_factor(user: AbstractBaseUser) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_local_account(user: AbstractBaseUser) -> bool:
    """An account that signs in with a password. Accounts made by single sign-on have none (an unusable one): their
    second factor is the identity provider's business (callbacks.identity)."""
    return user.has_usable_password()


def is_required(user: AbstractBaseUser) -> bool:
    """Whether this account must sign in with a second factor: a local Admin-role account, where it is required."""
    return settings.RINGBACK_ADMIN_TWO_FACTOR and is_admin_role(user) and is_local_account(user)


def must_enrol(user: AbstractBaseUser) -> bool:
    """Whether this account may do nothing until it sets up a second factor (Admin role, where it is required)."""
    return is_required(user) and not has_second_factor(user)


def pending_enrolment(user: AbstractBaseUser) -> TOTPDevice:
    """The authenticator being set up (unconfirmed, so it signs nobody in): the same secret until it is confirmed."""
    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as typed into an app by hand: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// address as an SVG QR code in a data: URI (the Content-Security-Policy allows data: images)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2, dark="black", light="white")


def normalised(token: str) -> str:
    return re.sub(r"[\s-]", "", token or "").lower()


@dataclass(frozen=True)
class Check:
    """What a code was: the device that accepted it, or why none did (`wait_until`: throttled until then)."""

    device: Device | None
    wait_until: datetime | None = None


def throttled_until(device: Device) -> datetime | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    return (data or {}).get("locked_until") or timezone.now()


def check_code(user: AbstractBaseUser, token: str) -> Check:
    """A six-digit code goes to the authenticator; anything else is tried as a recovery code (spent if it matches).

    Inside one transaction with the device locked, so a code (or a recovery code) is accepted once only even when
    two requests race; the authenticator also refuses a code of a time step it has already accepted.
    """
    token = normalised(token)
    if TOTP_CODE.match(token):
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    with transaction.atomic():
        device = devices.select_for_update().order_by("pk").first()
        if device is None:
            return Check(None)
        wait = throttled_until(device)
        if wait is not None:
            return Check(None, wait_until=wait)
        return Check(device if token and device.verify_token(token) else None)


def new_recovery_codes(user: AbstractBaseUser) -> list[str]:
    """Replaces the user's recovery codes with ten new ones (each works once); shown once, by the caller."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": "Recovery codes", "confirmed": True})
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user: AbstractBaseUser) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def confirm_enrolment(user: AbstractBaseUser, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """The user typed their app's code for the secret shown: the authenticator is confirmed and ten recovery codes are
    made. None when the code is wrong (or throttled)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        token = normalised(token)
        if device is None or not TOTP_CODE.match(token) or throttled_until(device) or not device.verify_token(token):
            return None
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return device, new_recovery_codes(user)


def disable(user: AbstractBaseUser) -> None:
    """Removes the user's authenticator and recovery codes (the caller has checked a current code)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
