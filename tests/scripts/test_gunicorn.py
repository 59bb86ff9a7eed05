"""Two gunicorn servers of the same system user (two `make run`s, a benchmark next to one) leave
each other alone: gunicorn.conf.py turns off gunicorn's per-user control socket, the one path
($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl) every server of a user would share."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

from tests.faults.services import REPO_ROOT, free_port, wait_until


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_two_servers_of_one_user_both_answer_and_stopping_one_leaves_the_other(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "WEB_CONCURRENCY": "1"}
    env.pop("XDG_RUNTIME_DIR", None)
    ports = [free_port(), free_port()]
    servers = []
    try:
        for port in ports:
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "api:create_app()"],
                cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_until(lambda port=port: answers(port), 30, interval=0.2, what=f"gunicorn on {port}")
        assert [answers(port) for port in ports] == [True, True]
        assert all(server.poll() is None for server in servers)
        assert not (tmp_path / ".gunicorn").exists()  # no control socket to share
        servers[1].send_signal(signal.SIGTERM)
        assert servers[1].wait(20) == 0
        assert answers(ports[0]) and servers[0].poll() is None
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
                server.wait(20)
