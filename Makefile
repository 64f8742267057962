# Every target sets itself up from nothing: a venv, the project, the Kafka jars.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
JARS := kafka/lib/.fetched

.PHONY: up test bench lint install kafka clean

install: $(INSTALLED)

# native/ is the router's fast path (Rust, built by maturin through pip; cargo fetches its
# crates from crates.io on the first build).
$(INSTALLED): pyproject.toml native/pyproject.toml native/Cargo.toml native/Cargo.lock $(wildcard native/src/*.rs)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q ./native
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

kafka: $(JARS)

$(JARS): kafka/pom.xml $(INSTALLED)
	$(BIN)/busbar fetch-kafka

up: $(INSTALLED) $(JARS)
	$(BIN)/busbar up $(ARGS)

test: $(INSTALLED) $(JARS)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 4 --dist loadfile $(PYTEST_ARGS)

bench: $(INSTALLED) $(JARS)
	$(BIN)/python bench/matcher.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/failing_target.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/schedules.py
	$(BIN)/python bench/correlation.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) kafka/lib .busbar
