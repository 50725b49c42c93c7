# Vigil's two everyday commands are `make run` and `make test`; see README.md.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VIGIL_FLAGS ?=

.PHONY: run test build lint fmt-check vet staticcheck fuzz-smoke bench clean

## run: build Vigil and run it on its embedded defaults with the demo incident
run:
	$(GO) run ./cmd/vigil dev --demo $(VIGIL_FLAGS)

## test: formatting, vet, staticcheck, then every test
test: lint
	$(GO) test -count=1 -timeout 20m ./...

## fuzz-smoke: every fuzz target for FUZZTIME each, one at a time (go test
## -fuzz takes one target per package); a crash fails it and leaves its input in
## the package's testdata/fuzz/ (commit it with the fix, see CONTRIBUTING.md)
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with a
# bare "context deadline exceeded" when a duration runs out on a loaded machine
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
FUZZTIME  ?= 10000x
FUZZFLAGS ?=
FUZZ_TARGETS = \
	./ingest:FuzzAlertmanagerPayload ./ingest:FuzzMetricsBody ./ingest:FuzzLogsBody ./ingest:FuzzGitHubPayload \
	./bot:FuzzParseAction ./bot/slack:FuzzInteractionPayload ./bot/slack:FuzzSlashCommand ./bot/slack:FuzzEventsPayload ./bot/slack:FuzzRenderMessage \
	./runbooks:FuzzParseRunbook ./runbooks:FuzzParseMatcher ./runbooks:FuzzParamPattern ./runbooks:FuzzStepTemplate \
	./config:FuzzParseConfig \
	./analyzers/logmine:FuzzMinerAdd ./analyzers/logmine:FuzzFormatMatcher
fuzz-smoke:
	@missing=$$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed 's/^func //' | sort -u | \
		while read -r n; do case " $(FUZZ_TARGETS) " in *":$$n "*) ;; *) printf '%s ' "$$n";; esac; done); \
	if [ -n "$$missing" ]; then echo "fuzz targets missing from FUZZ_TARGETS in the Makefile: $$missing"; exit 1; fi
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg; \
	done

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
