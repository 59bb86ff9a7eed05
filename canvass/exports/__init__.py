"""Streamed exports: CSV lists and OSDI canvasses, tenant-scoped, do-not-contact honoured, audited."""
