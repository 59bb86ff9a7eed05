# canvass developer entry points. On a fresh Debian/Ubuntu machine:
#   make run     install what is missing, start embedded PostgreSQL/PostGIS + Redis,
#                migrate, seed a demo org, run web + worker + cron (Ctrl-C stops all)
#   make test    same bootstrap, pytest against a throwaway database
# Settings come from the environment or .env (see .env.example).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTEST_ARGS ?=
BENCH_ARGS ?=
LOADTEST_ARGS ?=
export PYTEST_ARGS

.PHONY: help bootstrap run test bench loadtest lint messages start stop status clean-data

help:
	@echo "make run          bootstrap + migrate + demo data + web/worker/cron (PORT, default 8000)"
	@echo "make test         run the test suite (PYTEST_ARGS='-k foo' to pass arguments to pytest)"
	@echo "make bench        run the benchmarks (python -m bench; BENCH_ARGS='name ...' to pick some)"
	@echo "make loadtest     the canvass-day load test, 1,000 phones for 10 min (LOADTEST_ARGS=--quick: 100 for 60 s)"
	@echo "make lint         ruff, import-linter (the order of areas), mypy, shell checks (make test runs it first)"
	@echo "make messages     extract the pages' and the app's messages, update the es/pl/zh catalogs, compile them"
	@echo "make bootstrap    install system packages + .venv, start the embedded services"
	@echo "make start|stop|status   manage the embedded PostgreSQL/Redis (data in .data/)"
	@echo "make clean-data   stop the embedded services and delete .data/"

bootstrap:
	@bash scripts/bootstrap.sh

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

bench:
	@bash scripts/bootstrap.sh --mode bench .venv/bin/python -m bench $(BENCH_ARGS)

loadtest:
	@bash scripts/bootstrap.sh --mode bench .venv/bin/python -m bench.loadtest $(LOADTEST_ARGS)

lint:
	@bash scripts/bootstrap.sh --mode venv bash scripts/lint.sh

messages:
	@bash scripts/bootstrap.sh --mode venv bash scripts/messages.sh

start:
	@bash scripts/services.sh start

stop:
	@bash scripts/services.sh stop

status:
	@bash scripts/services.sh status

clean-data:
	@bash scripts/services.sh clean
