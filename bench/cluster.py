"""Ringback's scaled set-up as real processes, each of which can be killed, stopped and started again.

nginx (Debian's package) balances several Daphne processes; dispatchers (the clock) and task workers
(durable side effects) run beside them. Optionally, Redis is a private `redis-server` of its own (so it can
be stopped without touching anybody else's), and PostgreSQL is reached through a pausable TCP proxy (so the
database can vanish for the servers while the test itself still reads it). The fault tests and the soak
(`scripts/soak`) run on this; `scripts/run` starts the same processes for people.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .common import ROOT, free_port, rss_mb, wait_port

NGINX = os.environ.get("RINGBACK_NGINX", "/usr/sbin/nginx")
REDIS_SERVER = os.environ.get("RINGBACK_REDIS_SERVER", "redis-server")


def stop_all(services, grace: float = 5) -> None:
    """SIGTERM every one at once, then one grace period for all of them together; SIGKILL what is left. (One grace
    per process, one after the other, added up to many seconds at the end of a suite.)"""
    alive = [s for s in services if s.alive]
    for service in alive:
        service.proc.terminate()
    deadline = time.monotonic() + grace
    time.sleep(0.2 if any(s.alive for s in alive) else 0)
    for service in alive:  # a second SIGTERM: baresip then exits at once instead of waiting on unregistration
        if service.alive:
            service.proc.terminate()
    for service in alive:
        try:
            service.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            service.kill()


class Service:
    """One process that can be SIGKILLed, stopped and started again with the same command line."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path, port: int | None = None):
        self.name, self.argv, self.env, self.log_path, self.port = name, argv, env, log, port
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.alive else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        if self.port is not None:
            wait_port(self.port, timeout)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine or the OOM killer takes it."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, grace: float = 5) -> None:
        stop_all([self], grace)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()

    def rss_mb(self) -> float:
        try:
            return rss_mb(self.proc.pid) if self.alive else 0.0
        except OSError:
            return 0.0


class PausableProxy:
    """A TCP proxy (its own thread and event loop) in front of a server: `pause()` resets every open
    connection and refuses new ones, as a database that restarts or fails over does; `resume()` lets
    connections through again."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pausable-proxy", daemon=True)
        self.thread.start()
        self.resume()

    def _call(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self.links.add(link)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self.links.discard(link)

    async def _open(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()  # no more accepts: a new connection is refused
            self.server = None
        for client, upstream in list(self.links):
            client.transport.abort()  # a reset, not a goodbye: the servers learn it at their next statement
            upstream.transport.abort()

    def pause(self) -> None:
        self._call(self._cut())

    def resume(self) -> None:
        self._call(self._open())

    def close(self) -> None:
        self.pause()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def private_redis(workdir: Path) -> Service:
    """A `redis-server` of the cluster's own on a free port, keeping nothing on disk (like the machine's)."""
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(workdir)]
    return Service("redis", argv, dict(os.environ), ROOT / "var" / f"redis-{port}.log", port)


class Cluster:
    """nginx in front of `webs` Daphne processes, `dispatchers` clocks and `workers` task workers.

    `env` must name the database and Redis (DATABASE_URL, REDIS_URL); with `redis=True` the cluster runs its
    own Redis, with `db_proxy=True` the servers reach PostgreSQL through a `PausableProxy`.
    """

    def __init__(
        self,
        env: dict,
        workdir: Path,
        *,
        webs: int = 2,
        dispatchers: int = 2,
        workers: int = 1,
        redis: bool = False,
        db_proxy: bool = False,
        log_name: str = "cluster",
    ):
        self.workdir = workdir
        self.log = ROOT / "var" / f"{log_name}.log"
        self.log.parent.mkdir(exist_ok=True)
        env = dict(env, RINGBACK_DISPATCHER="external", DJANGO_SETTINGS_MODULE="workspace.settings")
        env.setdefault("MALLOC_ARENA_MAX", "2")
        self.redis = private_redis(workdir) if redis else None
        if self.redis is not None:
            env["REDIS_URL"] = f"redis://127.0.0.1:{self.redis.port}/0"
        self.db_proxy = None
        if db_proxy:
            self.db_proxy = PausableProxy(5432)
            env["DATABASE_URL"] = env["DATABASE_URL"].replace(":5432/", f":{self.db_proxy.port}/")
        self.env = env
        self.webs = [self._daphne(free_port()) for _ in range(webs)]
        self.port = free_port()
        self.dispatchers = [self._manage("dispatcher", "dispatcher") for _ in range(dispatchers)]
        self.workers = [
            self._manage("worker", "task_worker", "--queue-name", "*", "--interval", "0.1", "-v0") for _ in range(workers)
        ]
        self.nginx: Service | None = None

    def _daphne(self, port: int) -> Service:
        argv = [sys.executable, "-m", "daphne", "--access-log", "/dev/null", "--proxy-headers"]
        argv += ["-e", f"tcp:port={port}:interface=127.0.0.1:backlog=1024", "workspace.asgi:application"]
        return Service(f"web:{port}", argv, self.env, self.log, port)

    def _manage(self, name: str, *args: str) -> Service:
        return Service(name, [sys.executable, "manage.py", *args], self.env, self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def services(self) -> list[Service]:
        return [s for s in [self.redis, *self.webs, *self.dispatchers, *self.workers, self.nginx] if s is not None]

    def start(self) -> Cluster:
        if self.redis is not None:
            self.redis.start().wait_ready()
        conf = self.workdir / "nginx.conf"
        upstreams = [f"--upstream={web.port}" for web in self.webs]
        subprocess.run(
            [sys.executable, "manage.py", "nginx_conf", "--listen", str(self.port), *upstreams, "--dir", str(self.workdir)],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=conf.open("w"),
        )
        self.nginx = Service("nginx", [NGINX, "-c", str(conf)], self.env, self.log, self.port)
        for service in [*self.webs, *self.dispatchers, *self.workers, self.nginx]:
            service.start()
        for service in [*self.webs, self.nginx]:
            service.wait_ready()
        return self

    def stop(self) -> None:
        """All at once: terminate every process, then give them 5 s together (not 5 s each) before SIGKILL."""
        services = [s for s in reversed(self.services()) if s.alive]
        for service in services:
            service.proc.terminate()
        deadline = time.monotonic() + 5
        for service in services:
            try:
                service.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.kill()
        if self.db_proxy is not None:
            self.db_proxy.close()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def memory(self) -> dict[str, float]:
        """Resident memory of each Ringback process, in MB, by role ("web 1", "dispatcher 2"; nginx and Redis left out)."""
        roles = {"web": self.webs, "dispatcher": self.dispatchers, "worker": self.workers}
        return {f"{role} {i + 1}": s.rss_mb() for role, services in roles.items() for i, s in enumerate(services)}
