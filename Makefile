# gotk: every workflow starts here. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export GOPRIVATE := gotk.dev
export GOFLAGS := -buildvcs=false

MODULES ?= pkg source-controller kustomize-controller helm-controller image-automation-controller notification-controller cli e2e
CONTROLLERS := source-controller kustomize-controller helm-controller image-automation-controller notification-controller
RUN ?=
TEST_TIMEOUT ?= 20m
# Files tests keep for a reviewer (t.ArtifactDir: e.g. the UI's screenshots).
ARTIFACTS ?= $(CURDIR)/.test-output
BIN := $(CURDIR)/bin
# `make images`: platforms to build; REGISTRY set means push there; VERSION
# defaults to gotk.dev/pkg/version.Version (the tag `gotk install` pulls).
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
REGISTRY ?=
VERSION ?=

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/controller-gen $(BIN)/servedversion: hack/tools/go.mod hack/tools/go.sum hack/tools/servedversion/main.go
	cd hack/tools && GOWORK=off go build -o $(BIN)/controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen
	cd hack/tools && GOWORK=off go build -o $(BIN)/servedversion ./servedversion

.PHONY: generate
generate: $(BIN)/controller-gen $(BIN)/servedversion ## deepcopy and CRDs from pkg/apis
	cd pkg && $(BIN)/controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./apis/...
	rm -f manifests/crds/*.fluxcd.io_*.yaml
	cd pkg && $(BIN)/controller-gen crd:crdVersions=v1 paths=./apis/... output:crd:artifacts:config=../manifests/crds
	$(BIN)/servedversion -version v1beta2 manifests/crds/image.toolkit.fluxcd.io_*.yaml

.PHONY: manifests
manifests: generate ## regenerate the CRDs and the install file the gotk binary embeds
	go run ./cli/internal/install/gen manifests cli/internal/install/gotk-components.yaml

.PHONY: controlplane
controlplane: ## build the local control plane once per pin (cached in ~/.cache/gotk)
	hack/controlplane/build.sh

.PHONY: build
build: ## build the controllers, the gotk CLI, its UI server gotk-ui and its SOPS helper gotk-sops into bin/
	@mkdir -p $(BIN)
	for m in $(CONTROLLERS); do go build -o $(BIN)/$$m ./$$m; done
	go build -o $(BIN)/gotk ./cli
	CGO_ENABLED=0 go build -o $(BIN)/gotk-ui ./cli/cmd/gotk-ui
	go build -o $(BIN)/gotk-sops ./pkg/sops/cmd/gotk-sops

.PHONY: images
images: ## OCI images of the controllers and gotk into dist/images/ (REGISTRY=… VERSION=… pushes)
	go run ./pkg/imagebuild/cmd/build-images -platforms '$(IMAGE_PLATFORMS)' -out dist/images \
		$(if $(VERSION),-version '$(VERSION)') $(if $(REGISTRY),-registry '$(REGISTRY)' -push)

.PHONY: image-gotk-test
image-gotk-test: controlplane ## the gotk-test image (gotk, gotk-sops, kube-apiserver, etcd in /) for this machine's platform into dist/images/gotk-test/
	go run ./pkg/imagebuild/cmd/build-images -components gotk-test -platforms linux/$$(go env GOARCH) -out dist/images/gotk-test \
		$(if $(VERSION),-version '$(VERSION)') $(if $(REGISTRY),-registry '$(REGISTRY)' -push)

# apt-install installs the Debian packages of the commands that are missing
# ($(1): command:package pairs), with one `apt-get update` for all of them.
define apt-install
	@missing=""; for cp in $(1); do command -v $${cp%%:*} >/dev/null || missing="$$missing $${cp#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing: install them (apt-get install$$missing) or run make as root"; exit 1; fi; \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

.PHONY: container-runtime
container-runtime: ## install podman and runc (Debian packages) when missing: the container tests run the images with them
	$(call apt-install,podman:podman runc:runc)

.PHONY: browser
browser: ## install chromium (Debian package) when missing: the web UI's browser test drives it headless
	$(call apt-install,chromium:chromium)

.PHONY: test-packages
test-packages: ## install what the tests run that is missing (podman, runc, chromium), with one apt-get update
	$(call apt-install,podman:podman runc:runc chromium:chromium)

.PHONY: test
test: controlplane test-packages ## run the tests (MODULES="pkg cli" RUN=regex to narrow); their artifacts go to .test-output/
	@failed=""; for m in $(MODULES); do \
		echo "== $$m"; \
		mkdir -p $(ARTIFACTS)/$$m; \
		(cd $$m && go test -p 1 -count=1 -timeout $(TEST_TIMEOUT) -artifacts -outputdir $(ARTIFACTS)/$$m $$(test $$m = e2e && echo -v || true) $(if $(RUN),-run '$(RUN)') ./...) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAIL in:$$failed"; exit 1; fi

.PHONY: bench
bench: controlplane $(BIN)/benchreport ## run the benchmarks: a table here, JSON in bench/results/ (BENCH=regex, BENCH_ARGS=sizes such as -ks=1000, given only to packages with a matching benchmark)
	@mkdir -p bench/results
	@failed=""; out=$$(mktemp); for m in $(MODULES); do \
		pkgs=./...; \
		if [ -n '$(BENCH_ARGS)' ]; then \
			pkgs=$$(cd $$m && go test -list '$(or $(BENCH),.)' ./... | awk '/^Benchmark/ {b = 1} /^ok/ {if (b) print $$2; b = 0}'); \
			[ -n "$$pkgs" ] || continue; \
		fi; \
		(cd $$m && go test -run '^$$' -bench '$(or $(BENCH),.)' -benchmem -count=1 -timeout $(TEST_TIMEOUT) $$pkgs $(if $(BENCH_ARGS),-args $(BENCH_ARGS)) 2>&1) > $$out.$$m || failed="$$failed $$m"; \
		grep -E '^(pkg:|Benchmark|FAIL|--- FAIL)' $$out.$$m >> $$out || true; \
	done; \
	$(BIN)/benchreport -json bench/results/$$(date -u +%Y-%m-%dT%H-%M-%S).json < $$out; \
	rm -f $$out $$out.*; \
	if [ -n "$$failed" ]; then echo "FAIL in:$$failed"; exit 1; fi

$(BIN)/benchreport: hack/tools/benchreport/main.go
	cd hack/tools && GOWORK=off go build -o $(BIN)/benchreport ./benchreport

.PHONY: run
run: controlplane build ## run the local control plane, the controllers and the web UI, printing its URL (Ctrl-C stops)
	$(BIN)/gotk dev --state-dir $(CURDIR)/.run

.PHONY: fmt
fmt: ## gofmt every module
	gofmt -s -w $(MODULES) hack

.PHONY: vet
vet: ## go vet every module
	for m in $(MODULES); do (cd $$m && go vet ./...); done

.PHONY: tidy
tidy: ## go mod tidy every module
	for m in $(MODULES); do (cd $$m && go mod tidy); done
	for m in hack/tools hack/controlplane/kube hack/controlplane/kwok; do (cd $$m && GOWORK=off go mod tidy); done

.PHONY: verify
verify: manifests fmt tidy vet ## regenerate and fail if the tree changed
	@if [ -n "$$(git status --porcelain)" ]; then git status --porcelain; git --no-pager diff --stat; \
		echo "verify: generated or formatted files differ from the commit"; exit 1; fi
