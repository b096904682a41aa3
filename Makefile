GO ?= go

.PHONY: test vet
test: vet
	$(GO) test -race ./...

vet:
	$(GO) vet ./...
