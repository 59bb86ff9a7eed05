"""What the web pages add to the headers api/security.py sets on every response (CSP included)."""
from __future__ import annotations


def no_store(response):
    """Pages show an organization's people and turfs: never kept by a browser or a proxy cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response
