# Two entry points do all the set-up on a fresh machine: `make book` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= standard
JOBS ?= 2

.PHONY: setup book check-book test bench compute clean-book fmnist

$(STAMP): requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[book,test]"
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# torchvision's CUDA wheel on the CPU torch: a .pth hook lets `import torchvision` come before `import attx_core`
# (installed only where torchvision's C extension does not load; attx_core/_tv_shim.py says why).
SHIM := $(VENV)/.tv-shim
$(SHIM): $(STAMP) attx_core/_tv_shim.py
	$(BIN)/python -c "from attx_core._tv_shim import install; print(install())"
	touch $(SHIM)

setup: $(STAMP) $(SHIM)

test: $(STAMP) $(SHIM)
	$(BIN)/ruff check .
	OMP_NUM_THREADS=$(JOBS) $(BIN)/python -m pytest -q tests

FMNIST := /usr/share/datasets/fashion-mnist

# Fashion-MNIST comes from Debian (dataset-fashion-mnist); without root/apt the robustness chapter skips it visibly.
fmnist:
	@test -d $(FMNIST) || { command -v apt-get >/dev/null && apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } || echo "note: Fashion-MNIST not installed; the robustness chapter will skip it"

book: $(STAMP) fmnist
	OMP_NUM_THREADS=$(JOBS) $(BIN)/attx book --profile $(PROFILE) $(if $(FORCE),--force,)

# Fill a results store in the background: `make compute HOURS=1` (profile standard unless PROFILE= is given;
# one niced thread by default, THREADS=2 for more); resumable, stops cleanly after HOURS, writes tables/*.csv.
HOURS ?= 1
THREADS ?= 1
compute: $(STAMP)
	OMP_NUM_THREADS=$(THREADS) nice $(BIN)/attx compute --profile $(PROFILE) --hours $(HOURS) --threads $(THREADS)

# Open every page of the built book in headless Chromium (Debian: apt-get install chromium); not part of CI.
check-book: $(STAMP)
	$(BIN)/python -m attx_core.book.check

bench: $(STAMP)
	OMP_NUM_THREADS=$(JOBS) $(BIN)/attx bench

clean-book:
	rm -rf _build book/_executed
