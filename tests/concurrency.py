"""Real concurrency for race tests: separate connections, real commits (the `committing_app`
fixture). `run_at_once` starts calls together behind a barrier; `hold_while` keeps one
transaction open until a second request is seen waiting on it."""
import threading
import time

from sqlalchemy import text
from sqlalchemy.orm import Session


def run_at_once(*calls, timeout: float = 30.0) -> list:
    """Run each call in its own thread, released together; their return values, in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(slot, call):
        barrier.wait()
        results[slot] = call()

    threads = [threading.Thread(target=run, args=(slot, call)) for slot, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def _wait_until_blocked_by(engine, pid: int, timeout: float = 10.0) -> None:
    with engine.connect() as probe:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = probe.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"), {"pid": pid}
            ).scalar_one()
            if waiting:
                return
            probe.rollback()
            time.sleep(0.02)
    raise AssertionError("the second lead's request never waited on the first lead's transaction")


def hold_while(app, first_work, second, *, commit: bool = True):
    from api.extensions import db

    """Run `first_work(session)` in a transaction left open, start `second()` in a thread, wait until
    it is blocked by that transaction, then commit (or roll back) and let it finish. Returns what
    `first_work` and `second` returned."""
    answers: list = []
    with app.app_context():
        engine = db.engine
        first = Session(engine)
        try:
            result = first_work(first)
            pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
            thread = threading.Thread(target=lambda: answers.append(second()))
            thread.start()
            _wait_until_blocked_by(engine, pid)
            first.commit() if commit else first.rollback()
            thread.join(timeout=30)
        finally:
            first.close()
    return result, (answers[0] if answers else None)
