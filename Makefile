# Set-up and the two jobs.  `make run` and `make test` work on a fresh machine:
# they create .venv with the first Python >= 3.13 found (PATH, then pyenv).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean chromium bytecode

$(PY):
	bash scripts/make-venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# The package's modules compiled, as pip compiles a regular (not editable) install:
# every kernel and every worker interpreter imports them, and where
# PYTHONDONTWRITEBYTECODE is set Python would compile them anew each time
# (about 200 ms of a kernel's start).  Quick when nothing changed.
bytecode: $(STAMP)
	$(PY) -m compileall -q interpkernel

# The main job: the first teaching notebook, run as Run All does, on the interp kernel.
run: bytecode
	$(PY) -m interpkernel run notebooks/01-quick-start.ipynb \
		-o build/01-quick-start.ipynb --timeline build/01-quick-start.svg

test: bytecode chromium
	$(PY) -m pytest

# The JupyterLab tests drive Debian's Chromium (playwright may not download its own).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

bench: bytecode
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV)
