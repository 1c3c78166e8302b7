# Two entry points: `make demo` and `make test`. Both create the virtual environment on first use.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed
WORK    ?= work_dirs
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test bench clean

setup: $(STAMP)

# System dependencies (Debian packages): libusb, which open3d needs at import time, and g++,
# which compiles the CPU sparse-conv kernels. $(call apt_ensure,CHECK,PACKAGE,WHY)
define apt_ensure
	@if ! $(1); then \
		echo "installing $(2) ($(3))"; \
		(apt-get update -qq && apt-get install -y -qq $(2)) || \
		{ echo "could not install $(2): run 'apt-get install $(2)' as root"; exit 1; }; \
	fi
endef

$(STAMP): setup.cfg pyproject.toml
	$(call apt_ensure,ldconfig -p | grep -q libusb-1.0.so.0,libusb-1.0-0,needed by open3d)
	$(call apt_ensure,command -v g++ >/dev/null,g++,compiles mm_ssl's CPU sparse-conv kernels)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=82" wheel
	# pinned: these two install from local disk; an unpinned torch downloads gigabytes
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e ".[dev]"
	# the Waymo protos alone: its declared dependencies pin TensorFlow 2.13 and numpy 1.23
	$(PIP) install -q --no-deps waymo-open-dataset-tf-2-12-0==1.6.7
	@echo "compiling mm_ssl's CPU sparse-conv kernels (about 40 s, once per machine)"
	$(PY) -c "from mm_ssl.ops.sparse_conv import cpu_kernels; cpu_kernels()"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py --task lidar video --work-dir $(WORK)/demo

# Two workers of 2 threads share 2 cores: spinning OpenMP threads then wait on descheduled ones,
# and a sparse-conv step can take 15x longer. Passive waiting hands the core over instead.
test: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -n 2 tests

bench: $(STAMP)
	$(PY) benchmarks/bench_image.py
	$(PY) benchmarks/bench_sparse.py
	$(PY) benchmarks/bench_video.py

clean:
	rm -rf $(WORK)
