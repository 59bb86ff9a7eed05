"""Jobs the fault tests enqueue on a real worker process (imported by it by name)."""
import time
from pathlib import Path


def write_marker(path: str, text: str = "done", *, started: str | None = None, seconds: float = 0) -> None:
    if started:
        Path(started).write_text("started")
    time.sleep(seconds)
    Path(path).write_text(text)
