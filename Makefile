# hooklens — `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

GO      ?= go
BIN     := bin/hooklens
# The PostgreSQL the tests create their databases on. Unset it to run only
# the SQLite variants locally; CI (CI=true) fails if PostgreSQL is missing.
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

# Tests that skip because something they need is missing (PostgreSQL,
# Chromium, promtool, root) write why to this file; `make test` prints it at
# the end. Outside CI they skip; with CI=true they fail instead.
export HOOKLENS_SKIP_LOG ?= $(CURDIR)/test-results/skipped.txt

# $(call step,what,command) runs command after saying what it does, and
# every 30 s while it runs says it is still at it: the first builds, go vet
# and the fuzz stage's instrumented compile are long and otherwise silent.
define step
	@echo "--- $(1)"; echo "$(2)"; \
	( while sleep 30; do echo "    ... still $(1) ($$((SECONDS))s so far)"; done ) & hb=$$!; \
	trap 'kill $$hb 2>/dev/null' EXIT; \
	$(2)
endef

HAVE_FRONTEND := $(wildcard package.json)
FRONTEND_SRC  := $(shell find frontend/src frontend/public frontend/index.html -type f 2>/dev/null) \
                 $(wildcard package.json package-lock.json vite.config.ts tsconfig*.json graph/*.graphqls graph/ent.graphql)

##@ Everyday

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: build ## build and start hooklens on http://127.0.0.1:8080 with SQLite in ./data
	./$(BIN) serve

.PHONY: build
build: frontend ## build bin/hooklens with the dashboard embedded
	@echo "The first build compiles every dependency (2-3 minutes, more on a busy machine); later ones take seconds."
	$(call step,building $(BIN),$(GO) build -o $(BIN) ./server)

.PHONY: frontend
frontend: ## build the dashboard into frontend/dist (needs Node 20 and npm)
ifneq ($(HAVE_FRONTEND),)
frontend: frontend/dist/index.html
frontend/dist/index.html: node_modules/.package-lock.json $(FRONTEND_SRC)
	$(call step,building the dashboard into frontend/dist,npm run build)
	touch frontend/dist/.gitkeep
node_modules/.package-lock.json: package.json package-lock.json
	$(call step,installing the dashboard's npm packages,npm ci --no-audit --no-fund)
endif

.PHONY: demo
demo: build ## run hooklens + a fake Dwolla + live simulated traffic on a separate demo database
	./$(BIN) demo

##@ Tests

TEST_STAGES := lint test-go test-fuzz test-reliability test-frontend

.PHONY: test
test: ## run every stage (lint, Go on SQLite and PostgreSQL, fuzz, reliability, frontend and browser); fail at the end if any failed
	@mkdir -p $(dir $(HOOKLENS_SKIP_LOG)); : > $(HOOKLENS_SKIP_LOG)
	@failed=""; summary=""; \
	for stage in $(TEST_STAGES); do \
	  start=$$SECONDS; \
	  if $(MAKE) --no-print-directory $$stage; then result=ok; else result=FAILED; failed="$$failed $$stage"; fi; \
	  summary="$$summary$$(printf '  %-18s %-7s %5ds' $$stage $$result $$((SECONDS-start)))"$$'\n'; \
	  date -u "+--- make $$stage: $$result in $$((SECONDS-start))s (%T)"; \
	done; \
	echo; echo "--- make test: $$SECONDS s in all"; printf '%s' "$$summary"; \
	if [ -s $(HOOKLENS_SKIP_LOG) ]; then \
	  echo "Skipped because something they need is missing (CI=true fails them instead):"; \
	  cut -f1 $(HOOKLENS_SKIP_LOG) | sort | uniq -c | sed 's/^ *\([0-9]*\) /  \1 test(s): /'; \
	  echo "  (the tests, by name: $(HOOKLENS_SKIP_LOG))"; \
	else echo "Nothing skipped."; fi; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

.PHONY: test-busy
test-busy: ## make test while one CPU burner per core keeps the machine busy (the check that no test depends on speed)
	@n=$$(nproc); echo "--- starting $$n CPU burners"; pids=""; \
	for _ in $$(seq $$n); do ( while :; do :; done ) & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT; \
	$(MAKE) --no-print-directory test

.PHONY: test-go
test-go: ## Go tests with the race detector, on SQLite and PostgreSQL
	@date -u "+--- make test-go (%T)"
	@echo "go test compiles each package's tests with the race detector (minutes the first time), then runs them; it prints a line per package as each finishes."
	$(call step,go test -race ./...,$(GO) test -race -count=1 -timeout 15m ./...)

FUZZTIME ?= 10s

.PHONY: test-fuzz
test-fuzz: ## a short bounded run of every fuzz target (FUZZTIME each, default 10s)
	@date -u "+--- make test-fuzz (%T)"
	@echo "Each target first compiles its small package and the standard library with fuzzing instrumentation (minutes the first time), then fuzzes for $(FUZZTIME)."
	$(call step,fuzzing FuzzVerifyAndParse,$(GO) test -run '^$$' -fuzz '^FuzzVerifyAndParse$$' -fuzztime $(FUZZTIME) ./internal/dwolla/fuzz)
	$(call step,fuzzing FuzzParseKeys,$(GO) test -run '^$$' -fuzz '^FuzzParseKeys$$' -fuzztime $(FUZZTIME) ./internal/vault/fuzz)
	$(call step,fuzzing FuzzParsePrefixes,$(GO) test -run '^$$' -fuzz '^FuzzParsePrefixes$$' -fuzztime $(FUZZTIME) ./internal/netguard/fuzz)
	$(call step,fuzzing FuzzClientAddr,$(GO) test -run '^$$' -fuzz '^FuzzClientAddr$$' -fuzztime $(FUZZTIME) ./internal/netguard/fuzz)

.PHONY: test-reliability
test-reliability: ## the real binary under kill -9, a PostgreSQL outage, a full or read-only disk, hostile input and floods (needs root)
	@date -u "+--- make test-reliability (%T)"
	@echo "The reliability tests build bin/hooklens with the race detector, then run it through outages; the package prints its result at the end."
	$(call step,go test -tags reliability ./test/reliability,$(GO) test -race -tags reliability -count=1 -timeout 8m ./test/reliability)

.PHONY: test-frontend
test-frontend: ## dashboard unit tests (vitest) and browser tests (Chromium) against bin/hooklens
ifneq ($(HAVE_FRONTEND),)
test-frontend: build
	@date -u "+--- make test-frontend (%T)"
	npm test
endif

.PHONY: lint
lint: ## gofmt, go vet, and the TypeScript checks
	@date -u "+--- make lint (%T)"
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^ent/' ) 2>&1); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo "go vet type-checks every package and its tests (minutes the first time, seconds once cached)."
	$(call step,go vet ./...,$(GO) vet ./...)
	$(call step,go vet -tags reliability,$(GO) vet -tags reliability ./test/reliability)
ifneq ($(HAVE_FRONTEND),)
	npm run lint
endif

.PHONY: eval-anomaly
eval-anomaly: ## plant anomalies in weeks of simulated traffic; print precision, recall and delay per type
	$(GO) run ./cmd/evalanomaly

##@ Benchmarks

.PHONY: bench
bench: build ## load scenarios on SQLite and PostgreSQL: bench/results/*.json and BENCHMARKS.md
	./$(BIN) bench suite --out bench/results --markdown BENCHMARKS.md

.PHONY: bench-quick
bench-quick: build ## a short try of the suite (leaves BENCHMARKS.md alone)
	./$(BIN) bench suite --quick --out bench/results/quick

.PHONY: bench-go
bench-go: ## Go micro-benchmarks of the hot paths, benchstat format
	mkdir -p bench/results
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/dwolla ./internal/ingest ./internal/pipeline ./internal/journey ./internal/bench | tee bench/results/micro.txt

##@ Code generation

.PHONY: generate
generate: ## regenerate ent, gqlgen and the dashboard's GraphQL types
ifneq ($(HAVE_FRONTEND),)
generate: node_modules/.package-lock.json
endif
generate:
	$(GO) run -mod=mod ./ent/entc.go
	$(GO) run github.com/99designs/gqlgen generate
ifneq ($(HAVE_FRONTEND),)
	npm run codegen
endif

.PHONY: check-generate
check-generate: ## fail if generated code differs from what `make generate` writes
	./scripts/check-generate.sh

##@ Housekeeping

.PHONY: clean
clean: ## remove build output (keeps ./data)
	rm -rf bin frontend/dist/assets frontend/dist/index.html
