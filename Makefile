# The two commands: `make run` runs the whole system locally, `make test` runs the whole test suite.
# Both install what they need first (a virtualenv in .venv, Debian's PostgreSQL, Kafka's jars from Maven Central;
# for the tests also Debian's Chromium, which the browser tests drive through Playwright).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared deploy/local services/intake services/screening services/sessions services/notifications \
            services/portal services/register
STAMP := $(VENV)/.installed

AXE := .tools/node_modules/axe-core/axe.min.js

.PHONY: run test install browser clean

run: install
	$(BIN)/python -m clinicflow.localinfra run

# The linter first (ruff.toml): seconds, and a failure names the file and line.
test: install browser $(AXE)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Playwright's own browser download cannot be reached here: the tests use Debian's Chromium.
browser:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core, injected into each page by the browser tests to check accessibility.
$(AXE):
	npm install --silent --no-audit --no-fund --prefix .tools axe-core@4.14.1

install: $(STAMP)

$(STAMP): requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt $(foreach p,$(PACKAGES),-e ./$(p))
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .tools
