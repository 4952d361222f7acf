# The two commands of the README: `make demo` and `make test`.
# Both build a local .venv from nothing when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test venv clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

SET := indices_files/set00001_256_40000.txt
MODEL := models/set00001_256_40000_def001

demo: $(STAMP)
	$(BIN)/seisclip demo-bank demo_bank
	sh linker.sh demo_bank
	@if [ -e $(SET) ]; then \
		echo "note: $(SET) already exists; kept as it is"; \
	else \
		sh run_select_training_samples.sh 256 40000 set00001; \
	fi
	$(BIN)/seisclip verify $(SET)
	@if [ -e $(MODEL) ]; then \
		echo "note: $(MODEL) already exists; kept as it is"; \
	else \
		sh run_create_and_train_model.sh 256 set00001_256_40000 def001; \
	fi
	$(BIN)/seisclip summary $(MODEL)

clean-demo:
	rm -rf demo_bank outfiles
