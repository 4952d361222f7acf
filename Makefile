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

# The tests make models as the group's scripts saved them, with tf-keras (Keras 2) of TensorFlow's own
# version. It requires the distribution `tensorflow`, not `tensorflow-cpu`: with its dependencies it
# would bring a second TensorFlow, so it is installed without them.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(TENSORFLOW),test]'
	$(BIN)/python -m pip install --quiet --no-deps "tf-keras~=$$(TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python -c \
		'import tensorflow as tf; print(".".join(tf.__version__.split(".")[:2]))' 2>/dev/null).0"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

SET := indices_files/set00002_1024_20000.txt
DEFINITION := def004
MODEL := models/set00002_1024_20000_$(DEFINITION)
# Generated records apart from the training bank (another seed): the demo's quality benchmark.
BENCHMARK := benchmark_bank
BENCHMARK_SEED := 20261129
EVALUATION := evaluations/set00002_1024_20000_$(DEFINITION)_records
RECORD := demo_bank/19751204.1927.BRV.SKM.s09Z0.024.txtseg00043209
CLIPPED := restored/demo_record_clipped40.txt
RESTORED := restored/demo_record_clipped40.restored.txt

# $(call once,OUTPUT,COMMAND): run COMMAND unless OUTPUT exists, which is kept.
define once
	@if [ -e $(1) ]; then echo "note: $(1) already exists; kept as it is"; else echo "$(2)"; $(2); fi
endef

demo: $(STAMP)
	$(BIN)/seisclip demo-bank demo_bank
	sh linker.sh demo_bank
	$(call once,$(SET),sh run_select_training_samples.sh 1024 20000 set00002)
	$(BIN)/seisclip verify $(SET)
	$(call once,$(MODEL),sh run_create_and_train_model.sh 1024 set00002_1024_20000 $(DEFINITION) --resume)
	$(BIN)/seisclip summary $(MODEL)
	$(BIN)/seisclip demo-bank $(BENCHMARK) --files 30 --seed $(BENCHMARK_SEED) --quiet
	$(call once,$(EVALUATION),$(BIN)/seisclip evaluate --model $(MODEL) --records $(BENCHMARK)/*.txtseg* --clip-fractions 0.15 0.25 0.35 0.45 0.55 0.65 0.75 0.85 0.95 --quiet >/dev/null)
	@mkdir -p restored
	$(call once,$(CLIPPED),$(BIN)/seisclip clip $(RECORD) --fraction 0.4 --out $(CLIPPED))
	$(call once,$(RESTORED),$(BIN)/seisclip restore $(CLIPPED) --model $(MODEL) --out $(RESTORED))
	@echo "outputs: $(SET) (+ .json), $(MODEL)/, $(EVALUATION)/evaluation.{md,csv,png,json} and records.csv, $(RESTORED) and restored/demo_record_clipped40.restored.png"
	@echo
	@$(BIN)/seisclip evaluation-summary $(EVALUATION)

clean-demo:
	rm -rf demo_bank benchmark_bank outfiles restored
