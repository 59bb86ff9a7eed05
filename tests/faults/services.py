"""Throwaway PostgreSQL and Redis servers that fault tests may kill and restart.

The suite's shared PostgreSQL and Redis are never stopped. The cluster here is made and
started by scripts/bootstrap.sh's own functions (cv_pg_start, into a temporary CANVASS_DATA_DIR),
so it runs with exactly the configuration the project writes for the embedded cluster.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO_ROOT / "scripts" / "bootstrap.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class PgCluster:
    """A PostgreSQL cluster made by bootstrap.sh in a temporary data dir."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="canvass-faults-"))
        self.home.chmod(0o755)  # the cluster's OS user must reach it (else bootstrap falls back to /var/tmp)
        self.data_dir = self.home / "data"
        self.port = self.bin = self.pgdata = self.osuser = None

    def _bootstrap(self, script: str) -> dict:
        env = {**os.environ, "CANVASS_DATA_DIR": str(self.data_dir), "CANVASS_SKIP_APT": "1"}
        env.pop("CANVASS_PG_VERSION", None)
        report = 'printf "PORT=%s\\nBIN=%s\\nPGDATA=%s\\nOSUSER=%s\\n" "$CV_PG_PORT" "$CV_PG_BIN" "$CV_PGDATA" "$CV_PG_OSUSER"'
        out = subprocess.run(
            ["bash", "-c", f'. "{BOOTSTRAP}"; set -e; cv_ensure_datadir; {script}; {report}'],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert out.returncode == 0, out.stderr
        self.log = out.stderr
        return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)

    def start(self) -> None:
        """Start (creating it the first time) the way `make run` does: cv_pg_start."""
        values = self._bootstrap("cv_pg_start")
        self.port, self.bin, self.pgdata, self.osuser = (
            int(values["PORT"]), values["BIN"], values["PGDATA"], values["OSUSER"])

    def _as_pg(self, *command) -> list[str]:
        if os.geteuid() == 0 and self.osuser != "root":
            return ["runuser", "-u", self.osuser, "--", *command]
        return list(command)

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every server process quits at once, no checkpoint (as a crash)."""
        subprocess.run(self._as_pg(f"{self.bin}/pg_ctl", "stop", "-D", self.pgdata, "-m", "immediate", "-w"),
                       check=True, capture_output=True, cwd="/", timeout=60)

    def append_conf(self, line: str) -> None:
        subprocess.run(self._as_pg("sh", "-c", f"echo '{line}' >> '{self.pgdata}/postgresql.conf'"),
                       check=True, cwd="/")

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://canvass@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name, driver="postgresql+psycopg")

    def remove(self) -> None:
        if self.pgdata and os.path.exists(os.path.join(self.pgdata, "postmaster.pid")):
            subprocess.run(self._as_pg(f"{self.bin}/pg_ctl", "stop", "-D", self.pgdata, "-m", "immediate", "-w"),
                           capture_output=True, cwd="/", timeout=60, check=False)
        shutil.rmtree(self.home, ignore_errors=True)


class RedisServer:
    """A redis-server of our own on a free port, without persistence: killing it loses its data."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, what=f"redis on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
