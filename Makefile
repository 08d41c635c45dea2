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
	$(GO) build -o $(BIN) ./server

.PHONY: frontend
frontend: ## build the dashboard into frontend/dist (needs Node 20 and npm)
ifneq ($(HAVE_FRONTEND),)
frontend: frontend/dist/index.html
frontend/dist/index.html: node_modules/.package-lock.json $(FRONTEND_SRC)
	npm run build
	touch frontend/dist/.gitkeep
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
endif

.PHONY: demo
demo: build ## run hooklens + a fake Dwolla + live simulated traffic on a separate demo database
	./$(BIN) demo

##@ Tests

.PHONY: test
test: lint test-go test-fuzz test-reliability test-frontend ## run every test (Go on SQLite and PostgreSQL, fuzz, frontend, browser)

.PHONY: test-go
test-go: ## Go tests with the race detector, on SQLite and PostgreSQL
	@date -u "+--- make test-go (%T)"
	$(GO) test -race -count=1 -timeout 15m ./...

.PHONY: test-fuzz
test-fuzz: ## a short bounded run of every fuzz target
	@date -u "+--- make test-fuzz (%T)"
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyAndParse$$' -fuzztime 10s ./internal/dwolla
	$(GO) test -run '^$$' -fuzz '^FuzzParseKeys$$' -fuzztime 10s ./internal/vault
	$(GO) test -run '^$$' -fuzz '^FuzzParsePrefixes$$' -fuzztime 10s ./internal/netguard
	$(GO) test -run '^$$' -fuzz '^FuzzClientAddr$$' -fuzztime 10s ./internal/netguard

.PHONY: test-reliability
test-reliability: ## the real binary under kill -9, a PostgreSQL outage, a full or read-only disk, hostile input and floods (needs root)
	@date -u "+--- make test-reliability (%T)"
	$(GO) test -race -tags reliability -count=1 -timeout 8m ./test/reliability

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
	$(GO) vet ./...
	$(GO) vet -tags reliability ./test/reliability
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
