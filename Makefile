# ctjournal — see README.md. `make run` runs the engine, `make test` every test.
GO       ?= go
BIN      := bin/ctjournal
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: build run test fuzz soak vet fmt bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ctjournal

run: build
	./$(BIN) serve

# Unit, store (real PostgreSQL) and end-to-end tests (the built binary),
# one package at a time: a transaction a store test keeps open for seconds
# holds back every projection on the server, and end-to-end tests running
# alongside could run out of their waits behind one.
# The second step runs, alone and one package at a time, the tests that
# disturb the whole PostgreSQL server (they restart it, or hold a
# transaction open on it). Each calls pgtest.Exclusive, which skips it in
# the first step; the second fails unless as many tests passed as there
# are such calls, so that one whose name no longer matches -run is not
# left out without a word.
EXCLUSIVE_LOG := bin/exclusive-tests.log

test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 -timeout 15m ./...
	@mkdir -p bin
	CTJ_E2E_EXCLUSIVE=1 $(GO) test -count=1 -p 1 -timeout 5m -v -run 'Exclusive' ./... 2>&1 | tee $(EXCLUSIVE_LOG)
	@want=$$(grep -rhE --include='*_test.go' '^[[:space:]]*pgtest\.Exclusive\(t\)' . | wc -l); \
	passed=$$(grep -c '^--- PASS: ' $(EXCLUSIVE_LOG)); \
	echo "exclusive tests: $$passed passed, $$want call pgtest.Exclusive"; \
	! grep -q '^FAIL' $(EXCLUSIVE_LOG) && [ "$$want" -gt 0 ] && [ "$$passed" -eq "$$want" ]

# Long fuzz runs (docs/hardening.md): every Go fuzz target for FUZZTIME
# each, then the black-box run against the real binary with HOSTILE_BODIES
# mutated requests.
FUZZTIME       ?= 1m
HOSTILE_BODIES ?= 50000
fuzz:
	@for file in $$(git grep -l '^func Fuzz' -- '*_test.go'); do \
	  for target in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$file | cut -c6-); do \
	    echo "== $$target ($$(dirname $$file))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$file) || exit 1; \
	  done; \
	done
	CTJ_HOSTILE_BODIES=$(HOSTILE_BODIES) $(GO) test -count=1 -timeout 60m -run 'TestHostileInput' -v ./tests/hostile/

# The soak (README, Guarantees): a steady load for CTJ_SOAK_DURATION
# (default 5m) at CTJ_SOAK_RATE orders a second (default 20), Calltouch
# failing 10 % of requests; memory and goroutines must stay flat.
soak:
	CTJ_SOAK=1 $(GO) test -count=1 -timeout 30m -run 'Soak' -v ./tests/reliability/

# The benchmark (bench/README.md): the built binary on a fresh PostgreSQL
# database with the fake Calltouch; prints a table, writes bench/results.json.
# BENCH_QUICK=1 for a one-minute run; BENCH_PG_URL to use another server.
bench: build
	$(GO) build -o bin/ctjbench ./bench/cmd/ctjbench
	./bin/ctjbench -bin $(BIN) -go $(GO) -out bench/results.json $(if $(filter-out 0,$(BENCH_QUICK)),-quick)

clean:
	rm -rf bin
