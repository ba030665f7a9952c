# Segment Studio: every set-up step lives here, so a fresh machine needs only
# Python 3.11, make and apt. Both targets are safe to run twice.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WAREHOUSE ?= data/warehouse.duckdb
CUSTOMERS ?= 50000
PORT ?= 8501
# Only this machine can reach the app unless HOST says otherwise (HOST=0.0.0.0 for every interface).
HOST ?= 127.0.0.1
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test lint install chromium java warehouse bench bench-exports clean

## make run: create the venv, install, build the demo warehouse if missing, start the app on 127.0.0.1
## (HOST=0.0.0.0 make run to listen on every interface)
run: warehouse
	SEGMENT_STUDIO_WAREHOUSE=$(WAREHOUSE) $(VENV)/bin/streamlit run app.py --server.address $(HOST) --server.port $(PORT)

## make test: create the venv, install (Chromium and Java too), lint Python and SQL, run every test
test: install chromium java lint
	$(PY) -m pytest

## make lint: ruff over the Python, sqlfluff (dialect databricks) over sql/
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint sql

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Playwright cannot download its own browser here; the tests drive Debian's Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# The cross-engine tests (tests/engines) run pyspark, which needs a Java runtime.
java:
	@command -v java >/dev/null 2>&1 || { \
		echo "installing a Java runtime for the Spark tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; }

warehouse: install
	@test -f $(WAREHOUSE) || $(PY) -m services.cli build --customers $(CUSTOMERS) --warehouse $(WAREHOUSE)

bench: install
	$(PY) -m bench.pipeline

## make bench-exports: a million members to a Meta file and Parquet, and a snapshot diff (BENCH_WAREHOUSE=...)
bench-exports: install
	$(PY) -m bench.exports $(if $(BENCH_WAREHOUSE),--warehouse $(BENCH_WAREHOUSE))

clean:
	rm -rf $(VENV) .pytest_cache
