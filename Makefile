# Set-up and the two jobs.  `make run` and `make test` work on a fresh machine:
# they create .venv with the first Python >= 3.13 found (PATH, then pyenv).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean chromium

$(PY):
	bash scripts/make-venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m interpkernel demo

test: $(STAMP) chromium
	$(PY) -m pytest

# The JupyterLab tests drive Debian's Chromium (playwright may not download its own).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV)
