GO ?= go

# MODULES lists the directories of this repository's Go modules (each holds a
# go.mod). `vet` and `test` run in every one of them. Add a module's directory
# here when it gets its own go.mod (e.g. bench, integration).
MODULES := . bench cachedsql/sqlanalysis/pgquerycheck contrib/prometheus contrib/otel examples/redis integration

.PHONY: test vet test-deps
test: test-deps vet
	@set -e; for m in $(MODULES); do \
		echo "== go test -race ./... in $$m"; \
		(cd $$m && $(GO) test -race ./...); \
	done

vet:
	@set -e; for m in $(MODULES); do \
		echo "== go vet ./... in $$m"; \
		(cd $$m && $(GO) vet ./...); \
	done

# test-deps installs the servers the tests start (redis, memcached) when they
# are missing and checks PostgreSQL; see scripts/test-deps.sh.
test-deps:
	bash scripts/test-deps.sh
