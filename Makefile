# ctjournal — see README.md. `make run` runs the engine, `make test` every test.
GO       ?= go
BIN      := bin/ctjournal
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: build run test vet fmt bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ctjournal

run: build
	./$(BIN) serve

# Unit, store (real PostgreSQL) and end-to-end tests (the built binary).
test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 12m ./...

clean:
	rm -rf bin
