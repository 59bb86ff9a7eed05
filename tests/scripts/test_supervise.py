"""scripts/supervise.sh, the supervisor of `make run`, run for real with stand-in commands:
a process that dies comes back (with a growing pause), and a signal stops everything, also
when the supervisor was started in the background of a non-interactive shell (SIGINT ignored)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time

from tests.faults.services import REPO_ROOT, wait_until

SUPERVISE = REPO_ROOT / "scripts" / "supervise.sh"


class Supervisor:
    """`bash -c 'scripts/supervise.sh ... &'`: a background job of a non-interactive shell."""

    def __init__(self, tmp_path, *specs, **env):
        self.log_path = tmp_path / "supervise.log"
        self.shell = subprocess.Popen(
            ["bash", "-c", f'"{SUPERVISE}" "$@" >"{self.log_path}" 2>&1 & echo $!; wait', "bash", *specs],
            stdout=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, **env},
        )
        self.pid = int(self.shell.stdout.readline())

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def pids(self, name: str) -> list[int]:
        return [int(p) for p in re.findall(rf"==> {name} started \(pid (\d+)\)", self.log())]

    def alive(self) -> bool:
        return self.shell.poll() is None

    def close(self):
        if self.alive():
            os.killpg(self.shell.pid, signal.SIGKILL)
        self.shell.wait(10)
        self.shell.stdout.close()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie no one has reaped yet is not running
        return stat.read().split(") ")[1][0] != "Z"


def test_a_killed_process_is_started_again_and_the_others_keep_running(tmp_path):
    sv = Supervisor(tmp_path, "web=sleep 600", "worker=sleep 601")
    try:
        wait_until(lambda: sv.pids("web") and sv.pids("worker"), 10, what="both started")
        web, worker = sv.pids("web")[0], sv.pids("worker")[0]
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: len(sv.pids("worker")) == 2, 10, what="the worker started again")
        assert "worker exited with status 137" in sv.log()
        assert "restarting in 1.0 s" in sv.log()
        assert running(sv.pids("worker")[1]) and running(web)
        assert sv.pids("web") == [web]
    finally:
        os.kill(sv.pid, signal.SIGTERM)
        sv.shell.wait(20)
        sv.close()


def test_a_crashing_process_is_restarted_with_a_doubling_pause(tmp_path):
    sv = Supervisor(tmp_path, "worker=sh -c 'exit 3'", CANVASS_RESTART_MIN_MS="100", CANVASS_RESTART_MAX_MS="400")
    try:
        exits = r"worker exited with status 3 after [\d.]+ s; restarting in ([\d.]+) s"
        wait_until(lambda: len(re.findall(exits, sv.log())) >= 5, 10, what="five exits")
        pauses = re.findall(exits, sv.log())
        assert pauses[:5] == ["0.1", "0.2", "0.4", "0.4", "0.4"]
    finally:
        os.kill(sv.pid, signal.SIGTERM)
        sv.shell.wait(20)
        sv.close()


def test_sigint_stops_a_supervisor_started_in_the_background_and_every_child(tmp_path):
    sv = Supervisor(tmp_path, "web=sleep 600", "worker=sleep 601", "cron=sleep 602")
    try:
        wait_until(lambda: all(sv.pids(n) for n in ("web", "worker", "cron")), 10, what="all started")
        children = [sv.pids(n)[0] for n in ("web", "worker", "cron")]
        os.kill(sv.pid, signal.SIGINT)  # bash started it with SIGINT ignored; it re-executes to take it
        assert sv.shell.wait(20) == 0  # the outer shell's `wait` ended: the supervisor is gone
        assert "Stopping web worker cron" in sv.log()
        assert not [pid for pid in children if running(pid)]
    finally:
        sv.close()


def test_sigterm_stops_everything(tmp_path):
    sv = Supervisor(tmp_path, "web=sleep 600", "worker=sleep 601")
    try:
        wait_until(lambda: sv.pids("web") and sv.pids("worker"), 10, what="both started")
        children = [sv.pids("web")[0], sv.pids("worker")[0]]
        started = time.monotonic()
        os.kill(sv.pid, signal.SIGTERM)
        sv.shell.wait(20)
        assert time.monotonic() - started < 5
        assert not [pid for pid in children if running(pid)]
    finally:
        sv.close()


def test_what_a_dead_process_left_behind_in_its_session_is_stopped(tmp_path):
    # As rq's worker leaves its scheduler process behind when it is killed.
    sv = Supervisor(tmp_path, "worker=sh -c 'sleep 603 & echo child $!; wait'")
    try:
        wait_until(lambda: re.search(r"child (\d+)", sv.log()), 10, what="the worker's child")
        child = int(re.search(r"child (\d+)", sv.log())[1])
        os.kill(sv.pids("worker")[0], signal.SIGKILL)
        wait_until(lambda: len(sv.pids("worker")) == 2, 10, what="the worker started again")
        assert "worker left processes behind; stopped them" in sv.log()
        wait_until(lambda: not running(child), 5, what="the orphan to be stopped")
    finally:
        os.kill(sv.pid, signal.SIGTERM)
        sv.shell.wait(20)
        sv.close()
