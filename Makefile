# `make test` sets everything up from a fresh clone and runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TINY_DIR ?= .cache/tiny-models
APT_PACKAGES := ffmpeg espeak-ng chromium fonts-noto-cjk fonts-noto-color-emoji nodejs

.PHONY: test venv apt tiny demo bench bench-vad clean

test: venv apt tiny
	TINY_MODELS_DIR=$(TINY_DIR) $(PY) -m pytest tests/ -v --durations=40

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[cpu,test]'
	touch $@

venv: $(VENV)/.installed

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

tiny: venv
	$(PY) -m deployments.tiny --out $(TINY_DIR)

demo: venv tiny
	./start.sh --demo

bench: venv tiny
	TINY_MODELS_DIR=$(TINY_DIR) $(PY) -m bench.serving

bench-vad: venv apt
	$(PY) -m bench.vad

clean:
	rm -rf $(VENV) .cache .pytest_cache
