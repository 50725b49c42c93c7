# Vigil's two everyday commands are `make run` and `make test`; see README.md.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VIGIL_FLAGS ?=

.PHONY: run test build lint fmt-check vet staticcheck bench clean

## run: build Vigil and run it on its embedded defaults with the demo incident
run:
	$(GO) run ./cmd/vigil dev --demo $(VIGIL_FLAGS)

## test: formatting, vet, staticcheck, then every test
test: lint
	$(GO) test -count=1 -timeout 20m ./...

## build: the vigil binary in bin/
build:
	$(GO) build -o bin/vigil ./cmd/vigil

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change these files (run gofmt -w):"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

## bench: quality harnesses on ../shared/external (NAB, Loghub, PetShop) and the synthetic ones (RCA topologies, VUS)
bench:
	$(GO) run ./bench/nab --out out/nab
	$(GO) run ./bench/loghub
	$(GO) run ./bench/petshop --out out/petshop.jsonl
	$(GO) run ./bench/rca
	$(GO) run ./bench/vus

clean:
	rm -rf bin out
