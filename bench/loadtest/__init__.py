"""The canvass-day load test: `make loadtest` (`python -m bench.loadtest`, `--quick` for the short run).

seed.py stands up an organization, stack.py starts the server processes, locustfile.py is the
crowd (phones, leads, organizers), verify.py drains and checks the ledgers against the database.
"""
