# The two commands: `make run` runs the whole system locally, `make test` runs the whole test suite.
# Both install what they need first (a virtualenv in .venv, Debian's PostgreSQL, Kafka's jars from Maven Central).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared deploy/local services/intake services/screening services/sessions services/notifications
STAMP := $(VENV)/.installed

.PHONY: run test install clean

run: install
	$(BIN)/python -m clinicflow.localinfra run

test: install
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt $(foreach p,$(PACKAGES),-e ./$(p))
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
