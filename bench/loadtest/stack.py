"""The stack under load, as `make run` and the Procfile start it: gunicorn with gunicorn.conf.py,
`python -m workers.main --with-scheduler` and `rq cron`, on 127.0.0.1 only, with a Redis of its own
(no persistence, a free port) so its queue and caches start empty and leave nothing behind."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO_ROOT, free_port, start_app_server, stop_process

QUEUE = "loadtest"


def rss_kib(pid: int, *, with_children: bool) -> int:
    """Resident memory of a process (and of its children: gunicorn's workers), in KiB."""
    pids = [pid]
    if with_children:
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                pids += [int(child) for child in children]
        except OSError:
            pass
    total = 0
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


@dataclass
class Stack:
    database_url: str
    log_dir: Path
    port: int = 0
    redis_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict:
        return {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
                "CANVASS_QUEUE": QUEUE, "LOG_LEVEL": "WARNING", "SECRET_KEY": "load-test-only",
                "PYTHONUNBUFFERED": "1"}

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def start(self) -> None:
        self.redis_port = free_port()
        self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"])
        self._wait_for_redis()
        self.port = free_port()
        self.processes["web"] = start_app_server(self.database_url, self.redis_url, self.port,
                                                 env={"CANVASS_QUEUE": QUEUE}, timeout=180)
        self._spawn("worker", [sys.executable, "-m", "workers.main", "--url", self.redis_url, "--with-scheduler",
                               QUEUE])
        self._spawn("cron", [str(Path(sys.executable).parent / "rq"), "cron", "--url", self.redis_url,
                             "workers/cron_schedule.py"])

    def _wait_for_redis(self) -> None:
        from redis import Redis

        deadline = time.monotonic() + 15
        while True:
            try:
                Redis.from_url(self.redis_url).ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def memory(self) -> dict[str, int]:
        return {"web": rss_kib(self.processes["web"].pid, with_children=True),
                "worker": rss_kib(self.processes["worker"].pid, with_children=False)}

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def stop(self) -> None:
        for name in ("cron", "worker", "web", "redis"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            stop_process(process)
