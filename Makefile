# gitramp: `make demo` runs a whole challenge end to end; `make test` runs the tests.
# Every target creates the virtual environment it needs, so these two are the whole set-up.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint image data clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

data: $(STAMP)
	$(BIN)/python -m kits.make_data

demo: $(STAMP) data
	$(BIN)/python -m gitramp.demo

test: $(STAMP) data
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test-fast: $(STAMP) data
	$(BIN)/python -m pytest -q -x -m 'not docker and not browser and not slow'

bench: $(STAMP) data
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .

image: $(STAMP)
	$(BIN)/gitramp image build

clean:
	rm -rf $(VENV) .venv-bench _site _demo test-output
