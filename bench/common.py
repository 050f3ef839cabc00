"""What every benchmark phase shares: the set-up (a fresh database, fixtures, server processes) and figures."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSRF = "b" * 32  # a CSRF secret: the client sends it as cookie and header, as a page does


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- Set-up -----------------------------------------------------------------------


def environment(scaled: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="workspace.settings", PYTHONPATH=str(ROOT), RINGBACK_LOG_LEVEL="WARNING")
    env.setdefault("MALLOC_ARENA_MAX", "2")  # as scripts/run starts the servers
    if scaled:
        env.update(
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/ringback_bench",
            REDIS_URL="redis://127.0.0.1:6379/3",
            RINGBACK_CHANNEL_PREFIX="bench",
            RINGBACK_DISPATCHER="external",
            DB_POOL_SIZE="20",
        )
    else:
        env.update(RINGBACK_VAR_DIR=str(ROOT / "var" / "bench"), RINGBACK_DISPATCHER="inprocess")
    return env


SKELETON = "bench.skeleton.settings"


def skeleton_environment(env: dict) -> dict:
    """The same set-up serving the skeleton desk (`bench.skeleton.desk`) instead of Ringback: `prepare`, `start`
    and the phases' clients then measure the floor under the same load."""
    return env | {"DJANGO_SETTINGS_MODULE": SKELETON, "SKELETON_DESK": "1"}


def is_skeleton(env: dict) -> bool:
    return env["DJANGO_SETTINGS_MODULE"] == SKELETON


def prepare(env: dict, scaled: bool, agents: int) -> dict:
    """A fresh database with one queue, `agents` agents with sessions, and an API token (the skeleton's: its
    tables, agents and sessions)."""
    if scaled:  # the database and Redis database the environment names, made empty
        name, redis_db = env["DATABASE_URL"].rsplit("/", 1)[1], env["REDIS_URL"].rsplit("/", 1)[1]
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True, capture_output=True)
        subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)
        subprocess.run(["redis-cli", "-n", redis_db, "FLUSHDB"], check=True, capture_output=True)
    else:
        var = Path(env["RINGBACK_VAR_DIR"])
        shutil.rmtree(var, ignore_errors=True)
        var.mkdir(parents=True)
    skeleton = is_skeleton(env)
    if skeleton:  # Django's apps first: the desk's tables (an app without migrations) refer to auth_user
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v0"], cwd=ROOT, env=env, check=True)
    else:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.skeleton.fixtures" if skeleton else "bench.fixtures", str(agents)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def start(env: dict, scaled: bool, web: int | None = None, background: bool = True) -> tuple[list[subprocess.Popen], list[int]]:
    """`web` Daphne processes (2 scaled, 1 embedded by default), plus, scaled, a dispatcher and a task worker (the
    skeleton has neither: it offers in the intake request)."""
    procs, ports = [], []
    app = "bench.skeleton.asgi:application" if is_skeleton(env) else "workspace.asgi:application"
    log = open(ROOT / "var" / "bench-servers.log", "ab")
    for _ in range(web or (2 if scaled else 1)):
        port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "daphne", "-e", f"tcp:port={port}:interface=127.0.0.1:backlog=1024"] + [app],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        ports.append(port)
    if scaled and background and not is_skeleton(env):
        for command in (["dispatcher"], ["task_worker", "--queue-name", "*", "--interval", "0.1", "-v0"]):
            procs.append(
                subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
    for port in ports:
        wait_port(port)
    return procs, ports


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def versions() -> str:
    import channels
    import daphne
    import django

    return f"Python {platform.python_version()}, Django {django.get_version()}, Channels {channels.__version__}, Daphne {daphne.__version__}"


async def agent_socket(port: int, session: str, query: str = ""):
    """An agent page's websocket to the web process on `port`, logged in with `session`."""
    import websockets

    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/agent/{query}",
        additional_headers={"Cookie": f"sessionid={session}", "Origin": f"http://127.0.0.1:{port}"},
        open_timeout=120,
        ping_interval=None,
        max_size=None,
    )


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids
