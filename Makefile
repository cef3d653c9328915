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
ASYNCAPI_PARSER := .tools/node_modules/@asyncapi/parser/package.json

.PHONY: run test install browser lock clean

run: install
	$(BIN)/python -m clinicflow.localinfra run

# The linter (ruff.toml) and the type-checker (mypy.ini) first: seconds, and a failure names the file and line.
test: install browser $(AXE) $(ASYNCAPI_PARSER)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Playwright's own browser download cannot be reached here: the tests use Debian's Chromium.
browser:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core, injected into each page by the browser tests to check accessibility.
$(AXE):
	npm install --silent --no-audit --no-fund --prefix .tools axe-core@4.14.1

# The official AsyncAPI parser, which checks each service's event document (tests/asyncapi_parse.cjs).
$(ASYNCAPI_PARSER):
	npm install --silent --no-audit --no-fund --prefix .tools @asyncapi/parser@3.6.3

install: $(STAMP)

# Held to requirements.lock's versions, so the tests run what the image runs (pip takes no hashes for an editable
# install, so the constraints are the lock without them).
$(STAMP): requirements-dev.txt requirements.lock $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	sed -e '/--hash/d' -e 's/ \\$$//' requirements.lock > $(VENV)/constraints.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt -c $(VENV)/constraints.txt \
		$(foreach p,$(PACKAGES),-e ./$(p))
	touch $(STAMP)

# The image's dependencies, resolved from the pyproject.toml files, exact and hashed (requirements.lock).
IMAGE_PACKAGES := shared services/intake services/screening services/sessions services/notifications services/register
lock: install
	printf '%s\n' $(foreach p,$(IMAGE_PACKAGES),./$(p)) | $(BIN)/uv pip compile - --generate-hashes \
		--python-version 3.11 --no-header $(foreach p,$(IMAGE_PACKAGES),--no-emit-package clinicflow-$(notdir $(p))) \
		> $(VENV)/requirements.lock
	{ echo "# The image's dependencies, exact and hashed: the Dockerfile installs them with --require-hashes, and"; \
	  echo "# make install holds the development environment to the same versions. Made by make lock: run it after"; \
	  echo "# changing a pyproject.toml's dependencies."; cat $(VENV)/requirements.lock; } > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .tools
