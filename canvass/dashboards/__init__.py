"""Organizer dashboards: activity rollups (activity.py) and the reads built on them (queries.py)."""
