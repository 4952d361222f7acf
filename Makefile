# The two commands of the README: `make demo` and `make test`.
# Both build a local .venv from nothing when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
# cpu, or gpu for NVIDIA GPUs (in a virtual environment of its own: make demo TENSORFLOW=gpu VENV=.venv-gpu)
TENSORFLOW ?= cpu
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test venv clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(TENSORFLOW),test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

SET := indices_files/set00001_256_40000.txt
MODEL := models/set00001_256_40000_def001
EVALUATION := evaluations/set00001_256_40000_def001_test
RECORD := demo_bank/19731215.1549.BRV.SKM.s08N0.024.txtseg00002530
CLIPPED := restored/demo_record_clipped40.txt
RESTORED := restored/demo_record_clipped40.restored.txt

# $(call once,OUTPUT,COMMAND): run COMMAND unless OUTPUT exists, which is kept.
define once
	@if [ -e $(1) ]; then echo "note: $(1) already exists; kept as it is"; else echo "$(2)"; $(2); fi
endef

demo: $(STAMP)
	$(BIN)/seisclip demo-bank demo_bank
	sh linker.sh demo_bank
	$(call once,$(SET),sh run_select_training_samples.sh 256 40000 set00001)
	$(BIN)/seisclip verify $(SET)
	$(call once,$(MODEL),sh run_create_and_train_model.sh 256 set00001_256_40000 def001 --resume)
	$(BIN)/seisclip summary $(MODEL)
	$(call once,$(EVALUATION),$(BIN)/seisclip evaluate --model $(MODEL) --quiet >/dev/null)
	@cat $(EVALUATION)/evaluation.md
	@mkdir -p restored
	$(call once,$(CLIPPED),$(BIN)/seisclip clip $(RECORD) --level 0.4 --out $(CLIPPED))
	$(call once,$(RESTORED),$(BIN)/seisclip restore $(CLIPPED) --model $(MODEL) --out $(RESTORED))
	@echo "outputs: $(SET) (+ .json), $(MODEL)/, $(EVALUATION)/evaluation.{md,csv,png,json}, $(RESTORED) and restored/demo_record_clipped40.restored.png"

clean-demo:
	rm -rf demo_bank outfiles restored
