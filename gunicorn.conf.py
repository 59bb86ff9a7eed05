"""gunicorn settings of the `web` process. The Procfile, `make run` and the walk-list benchmark all
serve the app with this file (gunicorn reads ./gunicorn.conf.py by itself); the command line only
adds --bind.

Sync workers, one more than the machine has cores (WEB_CONCURRENCY overrides the count). A request
here is CPU work in Python with short waits on PostgreSQL and Redis, so a process per core plus one
to run while another waits keeps the cores busy, and the kernel's accept queue hands each request
to the first free worker, first come first served. Measured on the 2-core machine with 16 clients
(docs/benchmarks.md, walk list): 3 sync workers gave the lowest p95s; 4-6 sync workers and threaded
workers (gthread 2x4, 4x2, 4x4) were slower at the tail, threaded ones by far the most, because a
kept-alive connection stays with the process that accepted it and that process's threads queue
on one GIL. If the database is on another host, the waits are longer: raise WEB_CONCURRENCY.

A sync worker handles one request at a time and closes the connection after it, so it must sit
behind a proxy that buffers requests and responses (the platform's router, or nginx): a phone on
a slow network must not hold a worker while its upload trickles in.
"""
import os

worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)

# gunicorn 25.1+ opens a control socket for `gunicornc` at one path per system user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl). Two servers run by the same user
# (`make run` next to the benchmark, two worktrees, a test server) would take that one path from
# each other, and `gunicornc` would talk to whichever started last. We don't use gunicornc: off.
control_socket_disable = True
