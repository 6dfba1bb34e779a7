# Scrambler Explorer — GNU make on Debian, Python 3.11.
#   make run    start the app on http://localhost:8501
#   make test   run the whole test suite (installs Debian chromium for the browser tests if missing)
#   make test-fast   the unit tier only: no slow, AppTest or browser tests (markers in pytest.ini)
#   make wheel  build dist/scrambler_explorer-*.whl (library, CLI `scrambler`, pretrained weights)

PYTHON ?= $(if $(shell command -v python3.11 2>/dev/null),python3.11,python3)
VENV = .venv
STAMP = $(VENV)/.installed
CHROMIUM = /usr/bin/chromium
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test test-fast wheel chromium

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -r requirements.txt
	touch $@

run: $(STAMP)
	$(VENV)/bin/python -m pages._ui.warmup --server.port 8501 --server.headless true

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian chromium for the browser tests"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

# pytest's exit status is make's: 5 (no tests collected) fails like any other error
test: $(STAMP) chromium
	$(VENV)/bin/python -m pytest -q tests

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m "not slow and not app and not browser" tests

wheel: $(STAMP)
	$(VENV)/bin/python -m pip wheel --no-deps --no-build-isolation -w dist .
	rm -rf build scrambler_explorer.egg-info
