# kubectl-ds — the two commands a new machine needs:
#   make demo   install the plugin and run it on the bundled example (no cluster needed)
#   make test   install what the tests need, build the local control plane, run every test
# (`make help` lists every target)
PYTHON ?= python3
# the Kubernetes release of the local control plane: the newest supported by default;
# `make test-e2e K8S_VERSION=1.33.13` runs the end-to-end tier on the oldest
K8S_VERSION ?= 1.37.2
export K8S_VERSION
PIP = $(PYTHON) -m pip
SNAPSHOT = examples/snapshot.json

.PHONY: help demo install test-deps lint test test-unit test-e2e cluster-build cluster-up cluster-down golden example dist \
	dist-check completion

install: ## install the plugin (kubectl-ds, kubectl_complete-ds) from this checkout
	$(PIP) install --quiet .

demo: install ## install the plugin and run it on the bundled example (no cluster needed)
	kubectl-ds why cp-1 --snapshot $(SNAPSHOT)
	@echo
	kubectl-ds diff -A --snapshot $(SNAPSHOT) || true

test-deps: ## install the plugin editable, with what the tests and `make lint` need (setup.cfg [test])
	$(PIP) install --quiet -e '.[test]'

# the same two gates as .pre-commit-config.yaml: ruff (ruff.toml), then mypy (setup.cfg [mypy])
lint: test-deps ## ruff check . and mypy kubectl_ds
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy kubectl_ds

cluster-build: ## build the local control plane of K8S_VERSION (hack/cluster.sh build)
	hack/cluster.sh build

test: test-deps cluster-build ## install what the tests need, build the local control plane, run every test
	$(PYTHON) -m pytest tests

test-unit: test-deps ## the unit and command tests only (no cluster)
	$(PYTHON) -m pytest tests/unit tests/commands

test-e2e: test-deps cluster-build ## the end-to-end tests, against the local control plane of K8S_VERSION
	$(PYTHON) -m pytest tests/e2e

cluster-up: cluster-build ## start the local control plane
	hack/cluster.sh up

cluster-down: ## stop the local control plane
	hack/cluster.sh down

golden: ## rewrite the golden outputs of tests/commands
	$(PYTHON) -m pytest tests/commands --update-golden

example: ## regenerate examples/snapshot.json
	$(PYTHON) -m tests.make_example > $(SNAPSHOT)

# the krew archive (dist/kubectl-ds-vX.Y.Z.tar.gz, reproducible) and its sha256 pinned in plugin.yaml
dist: ## build the krew archive and pin its sha256 in plugin.yaml
	$(PYTHON) hack/dist.py

dist-check: ## check that the krew archive rebuilds to the sha256 plugin.yaml pins
	$(PYTHON) hack/dist.py --check

# what `kubectl ds <TAB>` offers (kubectl 1.26+ runs kubectl_complete-ds), here on the example dump
completion: test-deps ## show what `kubectl ds <TAB>` offers on the example dump
	kubectl_complete-ds why --snapshot $(SNAPSHOT) ''
	kubectl_complete-ds diff -A --snapshot $(SNAPSHOT) ''

help: ## list the targets
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
