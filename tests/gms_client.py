"""A GMS Callback v1 client, written from Genesys' public documentation and public GMS client libraries (the
contract summarised in ../shared/GMS.md), not from Ringback's code: it knows only GMS paths, fields and formats.

Like the public clients, it starts callbacks form-encoded or as JSON, sends updates as JSON, formats times as
`yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` in UTC, treats every record value as a string, reads errors as
`{"exception", "message"}`, and skips past and zero-capacity slots of an availability answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def to_gms(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def from_gms(text: str) -> datetime:
    return datetime.strptime(text.rstrip("Z"), TIME_FORMAT).replace(tzinfo=UTC)


@dataclass
class GmsFailure(Exception):
    status: int
    exception: str
    message: str
    body: dict


class GmsClient:
    def __init__(
        self,
        http: httpx.Client,
        *,
        user: str | None = None,
        password: str | None = None,
        contact_center_id: str | None = None,
    ) -> None:
        self.http = http
        self.auth = (user, password) if user else None
        # Shared (multi-tenant) mode: every request names its contact centre.
        self.headers = {"ContactCenterId": contact_center_id} if contact_center_id else {}

    def _send(self, method: str, path: str, **kw) -> httpx.Response:
        response = self.http.request(method, f"/genesys/1{path}", auth=self.auth, headers=self.headers, **kw)
        if response.status_code >= 400:
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            raise GmsFailure(response.status_code, body.get("exception", ""), body.get("message", ""), body)
        return response

    # Start: POST /service/callback/{service}, form-encoded (the documentation's examples) or JSON (the mobile SDKs).
    # The answer is the whole object (GMS.md §3): `_id`, and `_action` with its fields: `ConfirmationDialog`
    # (`_text`, `_ok_title`, `_dialog_id`), `DialNumber` (`_tel_url`: the app dials it), `DisplayMenu` (`_label`,
    # `_content`) or `StartChat` [A legacy]. Public clients read only `_id` [S][T]; this one hands back everything.
    def start(
        self,
        service: str,
        number: str,
        *,
        desired_time: datetime | None = None,
        form: bool = False,
        call_direction: str | None = None,
        wait_for_agent: bool | None = None,
        **props,
    ) -> dict[str, str]:
        fields = {"_customer_number": number, **props}
        if desired_time is not None:
            fields["_desired_time"] = to_gms(desired_time)
        # `_call_direction`: USERORIGINATED (the customer calls in; GMS answers DialNumber) or USERTERMINATED (GMS
        # calls the customer) [A legacy]. The contract names `_wait_for_agent` but not how its value is written; the
        # legacy client's booleans, like every GMS value, travel as strings, so "true" / "false".
        if call_direction is not None:
            fields["_call_direction"] = call_direction
        if wait_for_agent is not None:
            fields["_wait_for_agent"] = "true" if wait_for_agent else "false"
        kw = {"data": fields} if form else {"json": fields}
        return self._send("POST", f"/service/callback/{service}", **kw).json()

    def query_id(self, callback_id: str) -> list[dict[str, str]]:
        return self._send("GET", "/service/callback", params={"_id": callback_id}).json()

    def query(self, service: str, operand: str = "AND", **props) -> list[dict[str, str]]:
        return self._send("GET", f"/service/callback/{service}", params={**props, "operand": operand}).json()

    # `_callback_state=PAUSED`: a callback held back (GMS.md §3 lists PAUSED among the states seen [T]; how one is
    # paused is not in the contract, and no public client queries it by name: this is the plain property query).
    def paused(self, service: str) -> list[dict[str, str]]:
        return self.query(service, _callback_state="PAUSED")

    def reschedule(self, service: str, callback_id: str, when: datetime, **props) -> None:
        self._send("PUT", f"/service/callback/{service}/{callback_id}", json={"_new_desired_time": to_gms(when), **props})

    def update(self, service: str, callback_id: str, **props) -> None:
        self._send("PUT", f"/service/callback/{service}/{callback_id}", json=props)

    def cancel(self, service: str, callback_id: str) -> None:
        self._send("DELETE", f"/service/callback/{service}/{callback_id}")

    def availability(self, service: str, start: datetime, *, days: int = 1, max_slots: int | None = None) -> dict[datetime, int]:
        params = {"start": to_gms(start), "number-of-days": str(days)}
        if max_slots:
            params["max-time-slots"] = str(max_slots)
        raw = self._send("GET", f"/service/callback/{service}/availability", params=params).json()
        now = datetime.now(UTC)
        return {from_gms(k): int(v) for k, v in raw.items() if int(v) > 0 and from_gms(k) >= now}

    def position(self, callback_id: str) -> dict[str, str]:
        return self._send("GET", f"/service/{callback_id}/check-queue-position").json()

    # A1: target, start_time, end_time, max, states (CSV) and filter-keys (CSV: the keys each record shows).
    def admin_queues(self, *, filter_keys: list[str] | None = None, **params) -> dict[str, list[dict[str, str]]]:
        if filter_keys is not None:
            params["filter-keys"] = ",".join(filter_keys)
        return self._send("GET", "/admin/callback/queues", params=params).json()

    # A3: POST /admin/callback/reportcancelled {"callback_reason", "exported_properties"}.
    def report_cancelled(self, reason: str | None = None, exported: list[str] | None = None) -> dict:
        body: dict = {}
        if reason is not None:
            body["callback_reason"] = reason
        if exported is not None:
            body["exported_properties"] = exported
        return self._send("POST", "/admin/callback/reportcancelled", json=body).json()

    # A4: GET /admin/callback/watermarks, service_name repeatable → {"services": {"<svc>": n}, "total": n}.
    def watermarks(self, *services: str) -> dict:
        return self._send("GET", "/admin/callback/watermarks", params=[("service_name", s) for s in services]).json()

    def admin_cancel(self, ids: list[str]) -> dict:
        return self._send("POST", "/admin/callback/cancel", json={"reason": "CANCELLED_BY_ADMIN", "ids": ids}).json()
