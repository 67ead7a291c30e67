# kubectl-ds — the two commands a new machine needs:
#   make demo   install the plugin and run it on the bundled example (no cluster needed)
#   make test   install what the tests need, build the local control plane, run every test
PYTHON ?= python3
PIP = $(PYTHON) -m pip
SNAPSHOT = examples/snapshot.json

.PHONY: demo install test-deps test test-unit test-e2e cluster-build cluster-up cluster-down golden example dist dist-check completion

install:
	$(PIP) install --quiet .

demo: install
	kubectl-ds why cp-1 --snapshot $(SNAPSHOT)
	@echo
	kubectl-ds diff -A --snapshot $(SNAPSHOT) || true

test-deps:
	$(PIP) install --quiet -e '.[test]'

cluster-build:
	hack/cluster.sh build

test: test-deps cluster-build
	$(PYTHON) -m pytest tests

test-unit: test-deps
	$(PYTHON) -m pytest tests/unit tests/commands

test-e2e: test-deps cluster-build
	$(PYTHON) -m pytest tests/e2e

cluster-up: cluster-build
	hack/cluster.sh up

cluster-down:
	hack/cluster.sh down

golden:
	$(PYTHON) -m pytest tests/commands --update-golden

example:
	$(PYTHON) -m tests.make_example > $(SNAPSHOT)

# the krew archive (dist/kubectl-ds-vX.Y.Z.tar.gz, reproducible) and its sha256 pinned in plugin.yaml
dist:
	$(PYTHON) hack/dist.py

dist-check:
	$(PYTHON) hack/dist.py --check

# what `kubectl ds <TAB>` offers (kubectl 1.26+ runs kubectl_complete-ds), here on the example dump
completion: test-deps
	kubectl_complete-ds why --snapshot $(SNAPSHOT) ''
	kubectl_complete-ds diff -A --snapshot $(SNAPSHOT) ''
