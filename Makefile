# One-command set-up on a fresh Debian/Ubuntu machine with Python >= 3.10 and a compiler:
#   make bench   builds the release build and runs the short benchmark (the main job)
#   make test    builds the debug build (leak counters on) and runs the tests
# Both create .venv, fetch libuv 1.50.0 into vendor/libuv/ and build as needed.

# The distribution's interpreter first: Debian's and Ubuntu's python3 are built with PGO
# and LTO and link libpython statically, and run the Python side of every benchmark row
# about 10 % faster than a default source build (pyenv's, say). It is taken if it is
# >= 3.10 and has venv (python3-venv) and its headers (python3-dev); else python3.
PY_USABLE := import ensurepip, os, sys, sysconfig; \
	sys.exit(sys.version_info < (3, 10) or \
	not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
ifndef PYTHON
PYTHON := $(firstword $(foreach p,/usr/bin/python3,$(shell $(p) -c '$(PY_USABLE)' \
	2>/dev/null && echo $(p))) python3)
endif
VENV := .venv
BIN := $(VENV)/bin
DEBUG_LIB := build/debug/lib
RELEASE_LIB := build/release/lib
SOURCES := $(shell find sourcey csrc -name '*.pyx' -o -name '*.pxd' -o -name '*.py' -o -name '*.pyi' -o -name '*.h' -o -name '*.c' | grep -v '_core.c$$')

.PHONY: all venv libuv build debug test bench bench-full lint typecheck wheel sdist clean

all: build debug

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml Makefile
	$(PYTHON) -m venv $(if $(wildcard $(VENV)/pyvenv.cfg),--upgrade) $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "Cython>=3.1" "setuptools>=77" wheel build \
		pytest pytest-timeout pytest-benchmark uvloop httptools aiohttp trustme \
		requests httpx websockets aioice ruff cython-lint mypy
	touch $@

libuv: vendor/libuv/.fetched
vendor/libuv/.fetched: vendor/libuv/PIN vendor/libuv/fetch.py
	$(PYTHON) vendor/libuv/fetch.py

# Two builds side by side, so switching between tests and benchmarks rebuilds nothing.
build: $(RELEASE_LIB)/.stamp
$(RELEASE_LIB)/.stamp: $(VENV)/.stamp vendor/libuv/.fetched $(SOURCES) setup.py
	$(BIN)/python setup.py -q build -b build/release --build-lib $(RELEASE_LIB) -j 2
	touch $@

debug: $(DEBUG_LIB)/.stamp
$(DEBUG_LIB)/.stamp: $(VENV)/.stamp vendor/libuv/.fetched $(SOURCES) setup.py
	SOURCEY_DEBUG=1 $(BIN)/python setup.py -q build -b build/debug --build-lib $(DEBUG_LIB) -j 2
	touch $@

test: debug
	PYTHONPATH=$(CURDIR)/$(DEBUG_LIB) $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: build
	PYTHONPATH=$(CURDIR)/$(RELEASE_LIB) $(BIN)/python benchmarks/run.py --quick $(BENCH_ARGS)

bench-full: build
	PYTHONPATH=$(CURDIR)/$(RELEASE_LIB) $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check sourcey tests benchmarks examples setup.py vendor/libuv/*.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/cython-lint sourcey

# mypy over the package with its stubs, then stubtest: the stubs against the built module.
typecheck: build
	$(BIN)/mypy
	cd $(RELEASE_LIB) && $(CURDIR)/$(BIN)/python -m mypy.stubtest sourcey \
		--allowlist $(CURDIR)/stubtest-allowlist.txt --ignore-unused-allowlist

wheel: venv libuv
	$(BIN)/pip wheel --no-deps -w dist .

sdist: venv libuv
	$(BIN)/python -m build --sdist

clean:
	rm -rf build dist $(VENV) sourcey/uv/_core.c sourcey/uv/*.so
