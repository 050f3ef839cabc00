"""Prometheus metrics: what each process counts as it works. The figures read from the database at scrape time
(queue depth, oldest wait, side effects waiting or failed) are collected by the `/metrics` view.

Several processes (web, dispatcher, task worker) each count their own; with PROMETHEUS_MULTIPROC_DIR set (the scaled
recipe sets it) prometheus_client adds them up at scrape time. Metric names are Ringback's, prefixed `ringback_`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OFFER_DELIVERY = Histogram(
    "ringback_offer_delivery_seconds",
    "From an offer being made to the agent's page showing it (the realtime path).",
    buckets=(0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5, 10),
)
OFFERS = Counter("ringback_offers_total", "Offers that ended, by outcome.", ["outcome"])
PUSHES = Counter("ringback_pushes_total", "Doorbell messages sent to websocket groups, by result.", ["result"])
SOCKETS = Gauge(
    "ringback_websocket_connections", "Open websocket connections, by kind (agent, board).", ["kind"], multiprocess_mode="livesum"
)
REQUESTS = Histogram(
    "ringback_http_request_duration_seconds",
    "HTTP request latency, by method and status class.",
    ["method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EFFECT_FAILURES = Counter("ringback_effect_attempts_failed_total", "Side-effect attempts that failed, by kind.", ["kind"])
CACHE_FAILURES = Counter(
    "ringback_cache_failures_total", "Cache (Redis) calls that failed and were treated as a miss: Redis down or unreachable."
)
SIP_REPORTS_REFUSED = Counter(
    "ringback_sip_reports_refused_total",
    "Reports on /sip/events refused as an attack would be: wrong address, wrong token, stale, or not the call's dialog.",
    ["reason"],
)
SIP_BLOCKED = Counter(
    "ringback_sip_blocked_sources_total",
    "Sources kamailio blocked, by reason (flood, repeated failed authentication).",
    ["reason"],
)
