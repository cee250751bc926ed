# make demo: set everything up and start the app on http://127.0.0.1:7860
# make test: set everything up and run the test suite
# Both are idempotent: set-up reruns only when requirements.txt, packages.txt or this file change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
APT_PACKAGES := $(shell grep -v '^\s*\#' packages.txt)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test setup apt bench clean

demo: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest

setup: $(STAMP)

$(STAMP): requirements.txt packages.txt Makefile
	@$(MAKE) --no-print-directory apt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned: an open requirement would pull a multi-GB CUDA build
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -r requirements.txt
	touch $(STAMP)

# Debian packages for CPU rendering and audio (the same list a Hugging Face Space installs).
apt:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); }

bench: setup
	$(PY) -m expressive_talker bench render --json bench-render.json

clean:
	rm -rf $(VENV) .pytest_cache
