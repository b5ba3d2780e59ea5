# SoloSales: `make run` (demo portal) and `make test` (whole suite). See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APPS := wallet providers orders qualification disputes
PYTEST_ARGS ?=

.PHONY: run test venv messages compilemessages lint migrations-check worker bench bench-quick simulate soak clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

compilemessages: venv
	@if command -v msgfmt >/dev/null; then \
	  $(PY) manage.py compilemessages -v0 --ignore=.venv; \
	else echo "msgfmt not found: using the compiled .mo files shipped in the repository"; fi

messages: venv
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete $(foreach a,$(APPS),--ignore=$(a)/*) --ignore=.venv/* --ignore=tests/* --ignore=bench/* --ignore=var/*
	for a in $(APPS); do (cd $$a && DJANGO_SETTINGS_MODULE=solosales.settings PYTHONPATH=.. ../$(PY) -P -m django makemessages -l zh_Hans --no-obsolete); done
	$(MAKE) compilemessages

run: venv compilemessages
	./scripts/run_demo.sh

test: venv compilemessages
	./scripts/run_tests.sh $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

migrations-check: venv
	$(PY) manage.py makemigrations --check --dry-run

worker: venv
	$(PY) manage.py rqworker default providers email webhooks --with-scheduler

bench: venv
	$(PY) bench/run.py

bench-quick: venv
	$(PY) bench/run.py --quick

SEED ?= 1
STEPS ?= 300
simulate: venv
	$(PY) manage.py simulate --seed $(SEED) --steps $(STEPS)

SOAK_SECONDS ?= 60
soak: venv
	SOAK_SECONDS=$(SOAK_SECONDS) TEST_DB_TAG=soak $(VENV)/bin/pytest tests/reliability/test_soak.py -p no:xdist -s -q

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles test-artifacts
