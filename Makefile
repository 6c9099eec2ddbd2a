# Lotou on Kubernetes: the lotou-node runtime and the LotouCluster operator.
# Every job runs through this file; `make help` lists the targets.

# Image names used by docker-build and the dev overlay.
IMG ?= lotou-operator:dev
NODE_IMG ?= lotou-node:dev

# Where tools and binaries go. bin/ is git-ignored.
LOCALBIN ?= $(shell pwd)/bin
K8S_BIN ?= $(LOCALBIN)/k8s
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
KUBE_SCORE ?= $(LOCALBIN)/kube-score
HELM ?= $(LOCALBIN)/helm

# Tool versions, pinned; each is built from the Go module proxy.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
KUBE_SCORE_VERSION ?= v1.20.0
HELM_VERSION ?= v4.3.1

# Same flags for `make build`, the Dockerfiles and the dev images.
GO_BUILD_FLAGS ?= -trimpath -ldflags "-s -w"
export CGO_ENABLED ?= 0

# Seconds each fuzz target runs inside `make test`.
FUZZTIME ?= 5s

# Chaos runs: `make chaos DURATION=30m` is the soak; `make test-chaos` the short run inside `make test`,
# which asserts only CHAOS_SHORT_ASSERT (the invariants that hold today; see docs/reliability.md).
DURATION ?= 30m
CHAOS_SHORT ?= 60s
CHAOS_SHORT_ASSERT ?= no-hang,failed-not-run,at-most-once,ok-ran,names-agree,resources,harness-clean

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the kubebuilder markers into config/.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	cp config/crd/bases/apps.lotou.io_lotouclusters.yaml charts/lotou-operator/crds/
	cp config/rbac/role.yaml charts/lotou-operator/files/manager-role.yaml

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods into api/.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: verify-generated
verify-generated: manifests generate ## Fail if generated files differ from what is committed.
	git diff --exit-code -- api config charts || { echo "Generated files are stale: run 'make manifests generate' and commit." >&2; exit 1; }

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...
	cd bench && go fmt ./...

.PHONY: vet
vet: ## Run go vet on both modules.
	go vet ./...
	cd bench && go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (config in .golangci.yml).
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: setup-envtest
setup-envtest: ## Build kube-apiserver and etcd from the module proxy into bin/k8s (cached).
	hack/setup-envtest.sh

.PHONY: setup-k8s
setup-k8s: ## Build every Kubernetes binary the local cluster needs into bin/k8s (cached).
	hack/setup-envtest.sh --all

##@ Test

# The steps of `make test`, in order; hack/test.sh times each and prints a summary.
TEST_STEPS ?= test-unit test-browser test-fuzz test-bench-build test-chaos test-e2e

.PHONY: test
test: ## Run every test: unit, envtest, process, browser, fuzz (short), bench build, chaos (short), e2e (a summary times each step).
	hack/test.sh $(TEST_STEPS)

.PHONY: test-unit
test-unit: ## Unit, envtest and real-process tests (race detector on the runtime).
	hack/setup-envtest.sh etcd kube-apiserver kubectl
	KUBEBUILDER_ASSETS="$(K8S_BIN)" hack/gotest.sh unit ./... -count=1 -timeout 20m
	CGO_ENABLED=1 hack/gotest.sh race -race -count=1 -timeout 20m ./runtime/...

.PHONY: test-browser
test-browser: ## The chat example in real headless Chromium on two slaves' gates (installs Debian's chromium when missing).
	test/browser/run.sh

.PHONY: test-fuzz
test-fuzz: ## Run each fuzz target for FUZZTIME.
	hack/fuzz.sh $(FUZZTIME)

.PHONY: test-bench-build
test-bench-build: ## Compile the bench module and run its benchmarks once (1x) to prove they work.
	cd bench && go vet ./... && go test -count=1 -run '^$$' -bench . -benchtime=1x ./...

.PHONY: test-chaos
test-chaos: ## Short chaos run (CHAOS_SHORT): real nodes in network namespaces, random faults, invariant table (needs root).
	CHAOS_ASSERT="$(CHAOS_SHORT_ASSERT)" hack/chaos.sh run $(CHAOS_SHORT)

.PHONY: chaos
chaos: ## Chaos soak for DURATION (default 30m), every invariant asserted; the table goes to stdout (needs root).
	CHAOS_ASSERT=all hack/chaos.sh run $(DURATION)

.PHONY: test-e2e
test-e2e: ## End-to-end tests on a real one-node Kubernetes (needs root; brings it up and down).
	hack/e2e.sh

.PHONY: score
score: kube-score ## kube-score on the manager manifests and on a LotouCluster's rendered children (skips: config/score/skipped-checks.txt).
	hack/setup-envtest.sh kubectl
	KUBE_SCORE=$(KUBE_SCORE) KUBECTL=$(K8S_BIN)/kubectl hack/score.sh

.PHONY: helm-lint
helm-lint: helm ## helm lint the operator chart (charts/lotou-operator), cluster-wide and namespaced.
	$(HELM) lint charts/lotou-operator
	$(HELM) lint charts/lotou-operator --set watchNamespaces={games}

##@ Benchmarks

.PHONY: bench
bench: ## Run the side-by-side benchmarks, the real-process runs vs raw TCP, then the cluster benchmarks when root; figures go to docs/benchmarks.md.
	hack/bench.sh
	hack/bench-process.sh
	@if [ "$$(id -u)" = 0 ]; then hack/bench-e2e.sh all; else echo "bench-e2e skipped (needs root: containerd, kubelet, a bridge)"; fi

.PHONY: bench-process
bench-process: ## Master + slave processes (lotouctl bench) vs a raw TCP echo, as ratios; output bin/bench/process.txt.
	hack/bench-process.sh

.PHONY: bench-gate
bench-gate: ## The gate with 10,000 clients (TCP, WebSocket) beside raw TCP and coder/websocket echo servers.
	hack/bench-gate.sh

.PHONY: bench-backends
bench-backends: ## Side-by-side benchmarks of the optional backends (TCP vs NATS, master vs etcd); figures in docs/benchmarks.md.
	hack/setup-envtest.sh etcd
	cd bench && KUBEBUILDER_ASSETS="$(K8S_BIN)" go test -run '^$$' -bench 'Send|NATSPublishRaw|Call|NATSRequestRaw|Register|Lookup' -benchtime 1s ./backends
	cd bench && KUBEBUILDER_ASSETS="$(K8S_BIN)" go test -run '^$$' -bench DetectKill -benchtime 3x ./backends

.PHONY: bench-e2e
bench-e2e: ## apply→Ready with 10 real slaves, and 1,000 kwok slaves in 20 LotouClusters (needs root).
	hack/bench-e2e.sh all

##@ Build

.PHONY: build
build: ## Build bin/manager, bin/lotou-node and bin/lotouctl (static).
	go build $(GO_BUILD_FLAGS) -o $(LOCALBIN)/manager ./cmd/manager
	go build $(GO_BUILD_FLAGS) -o $(LOCALBIN)/lotou-node ./cmd/lotou-node
	go build $(GO_BUILD_FLAGS) -o $(LOCALBIN)/lotouctl ./cmd/lotouctl

.PHONY: run
run: manifests generate ## Run the operator from your host against the current kubeconfig.
	go run ./cmd/manager

.PHONY: docker-build
docker-build: ## Build the manager and lotou-node images with a Docker engine.
	docker build -t $(IMG) -f Dockerfile .
	docker build -t $(NODE_IMG) -f Dockerfile.node .

##@ Local cluster

.PHONY: dev
dev: ## The main job: local one-node Kubernetes, the operator in it, the sample LotouCluster running.
	hack/dev.sh up

.PHONY: dev-down
dev-down: ## Stop the local cluster and undo every host change.
	hack/dev.sh down

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into bin/.
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into bin/.
$(GOLANGCI_LINT):
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: kube-score
kube-score: $(KUBE_SCORE) ## Build kube-score into bin/.
$(KUBE_SCORE):
	GOBIN=$(LOCALBIN) go install github.com/zegl/kube-score/cmd/kube-score@$(KUBE_SCORE_VERSION)

.PHONY: helm
helm: $(HELM) ## Build the helm CLI into bin/.
$(HELM):
	GOBIN=$(LOCALBIN) go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
