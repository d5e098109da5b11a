# phonehome: `make demo` and `make test` are the whole setup (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CAPTURE := demo/office.pcapng
DEMO_HOME := demo/out/workspace

.PHONY: demo test lint typecheck check system-deps clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DEMO_CAPTURE): scripts/make_demo_capture.py src/phonehome/testing/craft.py | $(STAMP)
	$(BIN)/python scripts/make_demo_capture.py --output $(DEMO_CAPTURE)

# Audits the synthetic office capture and writes the HTML report into the demo workspace.
demo: $(STAMP) $(DEMO_CAPTURE)
	$(BIN)/phonehome audit $(DEMO_CAPTURE) --workspace $(DEMO_HOME) --fail-on never
	$(BIN)/phonehome report --workspace $(DEMO_HOME) --format html --output demo/out/report.html
	@echo "HTML report: $(CURDIR)/demo/out/report.html"

# Debian packages the test suite uses as real consumers (tshark, pdftotext, chromium, nft,
# unbound-checkconf, named-checkzone, dnsmasq); installed only when missing.
system-deps:
	@missing=""; \
	  for pair in tshark:tshark pdftotext:poppler-utils chromium:chromium nft:nftables \
	      unbound-checkconf:unbound named-checkzone:bind9-utils dnsmasq:dnsmasq-base \
	      apksigner:apksigner; do \
	    command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	  if [ -n "$$missing" ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null; \
	    (apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || echo "warning: could not install$$missing; tests that need them will be skipped"; \
	  fi

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	bash benchmarks/setup.sh
	$(BIN)/python benchmarks/make_large_capture.py --size-mb 250 --output /tmp/phonehome-bench.pcap
	$(BIN)/python benchmarks/bench_audit.py /tmp/phonehome-bench.pcap

clean:
	rm -rf demo/out .pytest_cache .mypy_cache .ruff_cache
