# Two set-up commands for a fresh machine: `make demo` and `make test`.
# Everything else (check, bench, gen) sets itself up the same way.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install test check docs demo bench bench-instructions bench-e2e bench-grpc soak format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The suite compiles generated TypeScript with a pinned tsc (npm, from the registry).
TSC := tests/typescript/node_modules/.bin/tsc
$(TSC): tests/typescript/package.json tests/typescript/package-lock.json
	npm ci --prefix tests/typescript --silent --no-audit --no-fund
	touch $(TSC)

# Third-party validators the generated artefacts must satisfy (redocly, Spectral, axe, vnu, pyright),
# pinned, from npm. No install scripts: vnu-jar's would fetch a Java runtime from outside the
# registries, and the suite runs vnu.jar on Debian's Java instead ($(JAVA) below).
TOOLS := tests/tools/node_modules/.installed
$(TOOLS): tests/tools/package.json tests/tools/package-lock.json
	npm ci --prefix tests/tools --silent --no-audit --no-fund --ignore-scripts
	touch $(TOOLS)

# The doc-site tests drive Debian's chromium (tests/acceptance/test_browser.py).
BROWSER := /usr/bin/chromium
$(BROWSER):
	SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null

# problem+xml is checked against RFC 9457 Appendix B's RELAX NG schema by Debian's jing.
JING := /usr/bin/jing
$(JING):
	SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq jing >/dev/null

# The doc site is checked by the Nu HTML Checker (vnu.jar, from npm), which runs on Debian's Java.
JAVA := /usr/bin/java
$(JAVA):
	SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless >/dev/null

test: $(STAMP) $(TSC) $(TOOLS) $(BROWSER) $(JING) $(JAVA)
	$(BIN)/python -m pytest --cov --cov-report=term

check: $(STAMP) $(TOOLS)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	tests/tools/node_modules/.bin/pyright -p pyrightconfig.json  # strict, on the generated module and a consumer
	$(BIN)/python tests/tools/type_completeness.py  # pyright --verifytypes: >= 95% of the public API fully typed

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The demo runs in its own small virtualenv: the package (editable), its runtime
# dependencies and one server (examples/demo/requirements.txt), not the
# development set that `make test` needs.
DEMO_VENV  ?= .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
DEMO_SITE  ?= build/site
$(DEMO_STAMP): pyproject.toml examples/demo/requirements.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e . -r examples/demo/requirements.txt
	touch $(DEMO_STAMP)

# The user guide (docs/), strict: a broken link or anchor fails. Not `--quiet`: mkdocs counts
# the warnings that strict mode fails on only when it logs them.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/docs

# Builds the doc site from catalog/ (type URIs pointing at the demo), then serves
# the demo API with the middleware mounting the site under /errors/, in English,
# French and German: each browser gets the language it asks for.
demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python -m problemdetails build catalog/ --out $(DEMO_SITE) --base-url http://$(HOST):$(PORT)/errors/
	DEMO_BASE_URI=http://$(HOST):$(PORT)/errors/ DEMO_SITE=$(DEMO_SITE) \
		$(DEMO_VENV)/bin/python -m uvicorn --app-dir examples/demo app:app --host $(HOST) --port $(PORT)

# Benchmarks run in their own virtualenv: peers and pydantic never enter the
# project's dependencies.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
$(BENCH_STAMP): pyproject.toml benchmarks/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r benchmarks/requirements.txt
	# tornado-problem-details' package is named `problemdetails` too: installed apart (benchmarks/bench_tornado.py).
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps --upgrade --target $(BENCH_VENV)/peers/tornado-problem-details tornado-problem-details
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m benchmarks.run --write benchmarks/RESULTS.md

# The middleware benchmarks counted in instructions by valgrind (from Debian's
# packages when missing): numbers that do not move with the machine's load.
bench-instructions: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m benchmarks.instructions --write benchmarks/INSTRUCTIONS.md

# Real servers on 127.0.0.1 driven by wrk (installed from Debian's packages when
# missing): problemdetails against the peers, then the full-size concurrency test.
bench-e2e: $(BENCH_STAMP) $(STAMP)
	$(BENCH_VENV)/bin/python -m benchmarks.e2e.run --write benchmarks/E2E.md
	PD_CONCURRENT_REQUESTS=20000 $(BIN)/python -m pytest -q -p no:cacheprovider tests/acceptance/test_concurrency.py

# The gRPC interceptors against a bare server and a hand-written abort, in time and in instructions
# (valgrind from Debian's packages when missing): grpcio comes with the project's dev dependencies.
bench-grpc: $(STAMP)
	$(BIN)/python -m benchmarks.bench_grpc --write benchmarks/GRPC.md

# A million error responses in-process, then a sustained run under uvicorn: memory stays flat.
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak --write benchmarks/SOAK.md

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(DEMO_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
