# admsync — every task is a target here. Module loops follow go.work.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

MODULES   := $(shell go list -f '{{.Dir}}' -m 2>/dev/null)
SERVICES  := syncer importer admwriter
BIN       := $(CURDIR)/bin
NATSCLI_VERSION := v0.5.0
# -parallel 4: the end-to-end tests spend most of their time waiting on ack
# waits, leases and the simulator's rate limit, so twice GOMAXPROCS of them
# at once keeps make test inside ten minutes on two cores.
GOTEST_FLAGS ?= -count=1 -timeout 9m -shuffle=on -parallel 4 -tags failpoints
# Packages whose own concurrency (runner workers, relay, rate budget,
# breaker, claims) the race detector watches in make test, and the
# admwriter's end-to-end package, where workers, relay and simulator meet.
# That package waits on ack waits and leases far more than it computes:
# -race costs it almost nothing (223 s with, 229 s without, on the shared
# two cores).
RACE_PKGS := ^admsync/(pkg/(messaging|outbox|administrate|service)|services/admwriter/internal/(breaker|bridge|writer|failpoint|e2e))$$

help: ## List the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## Build syncer, importer, admwriter and admsim into bin/
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do (cd services/$$s && go build -o $(BIN)/$$s .) ; done
	@(cd pkg && go build -o $(BIN)/admsim ./admsim/cmd/admsim)
	@(cd test && go build -o $(BIN)/admsync-demo ./cmd/admsync-demo)
	@echo "built: $$(ls $(BIN) | tr '\n' ' ')"

db: ## Print a PostgreSQL URL, starting a server if none answers
	@scripts/ensure-postgres.sh

migrate: build ## Apply the migrations to DATABASE_URL (or the local server); a second run is a no-op
	@DATABASE_URL=$${DATABASE_URL:-$$(scripts/ensure-postgres.sh)} $(BIN)/syncer migrate

test: build natscli ## Run every module's tests (shuffled; the concurrent packages under -race) against a real PostgreSQL and embedded NATS
	@export TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh); \
	export PATH=$(BIN):$$PATH; \
	failed=""; for m in $(MODULES); do echo "== go test $${m#$(CURDIR)/}"; \
	  pkgs=$$(cd $$m && go list ./...); \
	  race=$$(grep -E '$(RACE_PKGS)' <<<"$$pkgs" || true); plain=$$(grep -vE '$(RACE_PKGS)' <<<"$$pkgs" || true); \
	  if [ -n "$$plain" ]; then (cd $$m && go test $(GOTEST_FLAGS) $$plain) || failed="$$failed $${m#$(CURDIR)/}"; fi; \
	  if [ -n "$$race" ]; then (cd $$m && go test -race $(GOTEST_FLAGS) $$race) || failed="$$failed $${m#$(CURDIR)/}(race)"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED modules:$$failed"; exit 1; fi

FUZZTIME ?= 10s
fuzz: ## Run each Go fuzz target briefly (FUZZTIME, default 10s each)
	@cd services/importer && for f in FuzzParseDate FuzzParseTime FuzzParseRow FuzzPackagePart FuzzScannerMatchesDecoder; do \
	  echo "== fuzz $$f"; go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./internal/workbook/; done

lint: ## go vet and gofmt over every module
	@for m in $(MODULES); do (cd $$m && go vet ./...); done
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

generate: ## Regenerate the GraphQL client and simulator code
	@for m in $(MODULES); do (cd $$m && go generate ./...); done

GENERATED := pkg/administrate pkg/admsim
generate-check: generate ## Fail when generated code is not what is committed
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated code drifted: run make generate and commit"; exit 1; }
	@new=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	if [ -n "$$new" ]; then echo "generate wrote files that are not committed:"; echo "$$new"; exit 1; fi

natscli: ## Install the nats CLI into bin/ (from the Go module proxy)
	@mkdir -p $(BIN)
	@[ -x $(BIN)/nats ] || GOBIN=$(BIN) GOFLAGS= go install github.com/nats-io/natscli/nats@$(NATSCLI_VERSION)

bench: ## Run every benchmark and print one report ending in `bench:` lines
	@export TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh); scripts/bench.sh

chaos: build ## Fault-injection scenarios + 50 randomized rounds (loopback only, bounded); one row each; CHAOS_ROUNDS=N, --round SEED via scripts/chaos.sh
	@export TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh); scripts/chaos.sh

demo: build ## Run the whole flow locally (WORKBOOK=path.xlsx to use your own; KEEP=1 keeps the services running until Ctrl-C)
	@export DATABASE_URL=$${DATABASE_URL:-$$(scripts/ensure-postgres.sh)}; $(BIN)/admsync-demo $(if $(WORKBOOK),--workbook "$(WORKBOOK)") $(if $(KEEP),--keep)

tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && go mod tidy); done

clean: ## Remove build output
	rm -rf $(BIN)

# promtool runs the alert rule unit tests (deploy/promtool_test.go); the
# test fails under CI=true when it is missing.
promtool: ## Install promtool (Debian's prometheus package) when missing
	@command -v promtool >/dev/null 2>&1 || { echo "installing promtool (Debian package prometheus)"; \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } || \
	  echo "promtool: could not install it; run: sudo apt-get update && sudo apt-get install prometheus" >&2; }
test: promtool
.PHONY: promtool

.PHONY: help build db migrate test fuzz lint generate generate-check natscli bench chaos demo tidy clean
