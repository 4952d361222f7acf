# The two commands of the README: `make demo` and `make test`.
# Both build a local .venv from nothing when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
# cpu, or gpu for NVIDIA GPUs (in a virtual environment of its own: make demo TENSORFLOW=gpu VENV=.venv-gpu)
TENSORFLOW ?= cpu
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo reference test venv clean-demo

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

# The reference network: def004 on set00002_1024_20000, 10 epochs (`make reference`), bundled as
# seisclip/pretrained/reference-vN (`make reference BUNDLE=reference-vN` adds a new version).
SET := indices_files/set00002_1024_20000.txt
REFERENCE := models/set00002_1024_20000_def004
REBUILD := "seisclip demo-bank demo_bank" "sh linker.sh demo_bank" "sh run_select_training_samples.sh 1024 20000 set00002"
# The demo's own model: def004 on a smaller set for fewer epochs, so that the whole pipeline runs in minutes.
DEMO_SET := indices_files/set00003_1024_8000.txt
DEMO_EPOCHS := 6
MODEL := models/set00003_1024_8000_def004
# Generated records apart from the training bank (another seed): the demo's quality benchmark.
BENCHMARK := benchmark_bank
BENCHMARK_SEED := 20261129
CLIP_FRACTIONS := 0.15 0.25 0.35 0.45 0.55 0.65 0.75 0.85 0.95
EVALUATION := evaluations/set00003_1024_8000_def004_records
REFERENCE_EVALUATION := evaluations/reference_records
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
	$(call once,$(DEMO_SET),sh run_select_training_samples.sh 1024 8000 set00003)
	$(BIN)/seisclip verify $(DEMO_SET)
	$(call once,$(MODEL),sh run_create_and_train_model.sh 1024 set00003_1024_8000 def004 --epochs $(DEMO_EPOCHS) --resume)
	$(BIN)/seisclip summary $(MODEL)
	$(BIN)/seisclip demo-bank $(BENCHMARK) --files 30 --seed $(BENCHMARK_SEED) --quiet
	$(call once,$(EVALUATION),$(BIN)/seisclip evaluate --model $(MODEL) --records $(BENCHMARK)/*.txtseg* --clip-fractions $(CLIP_FRACTIONS) --quiet >/dev/null)
	$(call once,$(REFERENCE_EVALUATION),$(BIN)/seisclip evaluate --model reference --records $(BENCHMARK)/*.txtseg* --clip-fractions $(CLIP_FRACTIONS) --out-dir $(REFERENCE_EVALUATION) --quiet >/dev/null)
	@mkdir -p restored
	$(call once,$(CLIPPED),$(BIN)/seisclip clip $(RECORD) --fraction 0.4 --out $(CLIPPED))
	$(call once,$(RESTORED),$(BIN)/seisclip restore $(CLIPPED) --out $(RESTORED))
	@echo "outputs: $(DEMO_SET) (+ .json), $(MODEL)/, $(EVALUATION)/ and $(REFERENCE_EVALUATION)/ (evaluation.{md,csv,png,json}, records.csv), $(RESTORED) and its .png"
	@echo
	@echo "The demo's model ($(MODEL): def004, 8,000 segments, $(DEMO_EPOCHS) epochs):"
	@$(BIN)/seisclip evaluation-summary $(EVALUATION)
	@echo
	@echo "The bundled reference model (def004, 20,000 segments, 10 epochs; it restored $(RESTORED)):"
	@$(BIN)/seisclip evaluation-summary $(REFERENCE_EVALUATION)

reference: $(STAMP)
	$(BIN)/seisclip demo-bank demo_bank
	sh linker.sh demo_bank
	$(call once,$(SET),sh run_select_training_samples.sh 1024 20000 set00002)
	$(call once,$(REFERENCE),sh run_create_and_train_model.sh 1024 set00002_1024_20000 def004 --resume)
	$(if $(BUNDLE),$(BIN)/python -m seisclip.learn.bundled $(REFERENCE) --name $(BUNDLE) --rebuild $(REBUILD))
	$(if $(BUNDLE),$(BIN)/seisclip calibrate-band --model $(BUNDLE) --out seisclip/pretrained/$(BUNDLE)/band_calibration.json --quiet)
	$(BIN)/python bench/results_reference.py --retrained $(REFERENCE) --page docs/results/reference.md

clean-demo:
	rm -rf demo_bank benchmark_bank outfiles restored
