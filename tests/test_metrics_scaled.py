"""/metrics in scaled mode adds up every process (prometheus_client's multiprocess mode, as `scripts/run` sets
it up): requests served by two web processes behind nginx, and sockets open on each, are one figure whichever
process the scraper reaches."""

import asyncio

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from .factories import make_agent, make_queue, session_key_for
from .test_faults import cluster_of, pytestmark

__all__ = ["cluster_of", "pytestmark"]  # the fault tests' fixture and skip conditions

TOKEN = "scrape-me"


def sample(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_metrics_add_up_every_web_process(cluster_of, tmp_path):
    queue = make_queue("sales")
    sessions = [session_key_for(make_agent(f"agent{i}", queue).user) for i in range(2)]
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    cluster = cluster_of(env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "RINGBACK_METRICS_TOKEN": TOKEN})
    pids = {web.pid for web in cluster.webs}
    answered = [httpx.get(f"{cluster.url}/healthz").json()["pid"] for _ in range(20)]
    assert set(answered) == pids, "nginx spread the requests over both processes"

    def scrape(port: int) -> str:
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        return r.text

    async def with_a_socket_on_each():
        sockets = []
        for web, session in zip(cluster.webs, sessions, strict=True):  # straight to each process, not via nginx
            url = f"ws://127.0.0.1:{web.port}/ws/agent/"
            origin = f"http://127.0.0.1:{web.port}"
            ws = await websockets.connect(url, additional_headers={"Cookie": f"sessionid={session}", "Origin": origin})
            await ws.recv()
            sockets.append(ws)
        try:
            return [await asyncio.to_thread(scrape, web.port) for web in cluster.webs]
        finally:
            for ws in sockets:
                await ws.close()

    texts = asyncio.run(with_a_socket_on_each())
    for text in texts:  # either process tells the whole story
        assert sample(text, "ringback_websocket_connections", kind="agent") == 2
        served = sample(text, "ringback_http_request_duration_seconds_count", method="GET", status="2xx")
        assert served >= 20, "the 20 requests, whichever process served them"
