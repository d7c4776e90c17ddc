# ebpf-mcp build. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
OUT := bpf/.output
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# Where Debian keeps <asm/*.h> for this machine (usdt.bpf.h needs it).
MULTIARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
BPF_SRCS := $(wildcard bpf/catalog/*.bpf.c bpf/fixtures/*.bpf.c bpf/internal/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
NATIVE := build/Release/ebpf_native.node
TS_SRCS := $(shell find src test scripts bench -name '*.ts' 2>/dev/null)
# libbpf 1.5, built from Debian trixie's source by scripts/libbpf.sh and linked statically.
LIBBPF := .deps/libbpf
LIBBPF_PC := PKG_CONFIG_PATH=$(LIBBPF)/lib/pkgconfig pkg-config --static
export npm_config_nodedir := /usr

.PHONY: build pack deps unit-deps test test-unit test-noisy soak demo schemas clean bench bench-build conformance

# What is installed before anything is built: everything (scripts/setup.sh), or for test-unit alone the
# compilers, libbpf's headers and npm packages, so unit tests build and run without root, addon or libbpf.a.
SETUP := $(if $(filter-out test-unit,$(or $(MAKECMDGOALS),build)),deps,unit-deps)
# The BPF objects unit tests parse (test/unit/event-select, btf-fixture, btf-render), and every catalog object
# (test/unit/catalog-manifests checks each manifest against its object).
UNIT_BPF_OBJS := $(OUT)/fixtures/events.bpf.o $(OUT)/fixtures/multi.bpf.o $(OUT)/fixtures/btf_kinds.bpf.o $(OUT)/fixtures/params.bpf.o \
  $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(wildcard bpf/catalog/*.bpf.c))

WORKLOAD := test/.output/workload

SERVER_BUNDLE := dist/ebpf-mcp-server.mjs
# The chunks the server imports lazily (the HTTP transport, the policy file reader).
SERVER_CHUNKS := dist/server-chunks
# The CLI client, bundled the same way (bin/ebpf-mcp loads it).
CLI_BUNDLE := dist/ebpf-mcp.mjs
CLI_CHUNKS := dist/cli-chunks
# The throwaway process that opens an untrusted object with libbpf before the server does (src/kernel/open-probe.ts).
OPEN_PROBE := native/.output/open-probe

# This architecture's syscall names and open(2) flags, from the kernel's UAPI headers (src/btf/abi-names.ts reads it).
ABI_NAMES := $(OUT)/abi_names.json

build: deps $(NATIVE) $(OPEN_PROBE) $(BPF_OBJS) $(ABI_NAMES) dist/.stamp $(SERVER_BUNDLE) $(CLI_BUNDLE)

# A countable workload for the kernel tests (getpid, uprobe and USDT targets, UDP, CPU).
$(WORKLOAD): test/workload/workload.c | deps
	@mkdir -p $(dir $@)
	cc -O1 -g -fno-omit-frame-pointer -Wall -o $@ $<

deps:
	@scripts/setup.sh

unit-deps:
	@scripts/setup.sh unit

$(NATIVE): binding.gyp $(wildcard native/src/*.c native/src/*.h) | deps
	npx node-gyp rebuild --nodedir=/usr >&2

$(OPEN_PROBE): native/probe/open-probe.c | deps
	$(LIBBPF_CC)

$(OUT)/vmlinux.h: | $(SETUP)
	@mkdir -p $(OUT)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# A C program linked against the static libbpf (the probe, the benchmark's consumers).
define LIBBPF_CC
	@mkdir -p $(dir $@)
	cc -O2 -g -Wall -Wextra -o $@ $< $$($(LIBBPF_PC) --cflags --libs libbpf)
endef

# BPF C to an object with BTF (DWARF stripped): the project's programs and the benchmark's.
define BPF_CC
	@mkdir -p $(dir $@)
	clang -g -O2 -target bpf -ffile-prefix-map=$(CURDIR)=. -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Ibpf/include -I$(LIBBPF)/include -idirafter $(MULTIARCH_INC) -Wall -Wno-unused-function -c $< -o $@
	llvm-strip -g $@
endef

$(OUT)/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/include/*.h bpf/catalog/*.h) | $(SETUP)
	$(BPF_CC)

# Generated, not committed: it is per architecture (syscall numbers and some O_* values differ), like vmlinux.h.
$(ABI_NAMES): scripts/abi-names.mjs | $(SETUP)
	@mkdir -p $(OUT)
	printf '#include <asm/unistd.h>\n#include <asm/fcntl.h>\n' | cc -dM -E -idirafter $(MULTIARCH_INC) - | node scripts/abi-names.mjs > $@.tmp && mv $@.tmp $@

dist/.stamp: $(TS_SRCS) tsconfig.json package-lock.json | $(SETUP)
	npx tsc -p tsconfig.json
	@touch $@

# One ES module of an entry point and all it imports (the SDK, zod, ours): it starts about 40% faster than ~90
# modules. Type checking stays with tsc above. zod is imported as `import * as z from 'zod'`: esbuild cannot
# tree-shake `import { z }` (zod's index exports its namespace as a value), which brought in all of zod's locales
# and more, 0.56 MB of the server's start.
ESBUILD := npx esbuild --bundle --platform=node --format=esm --target=node20 --keep-names --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"

# The server (bin/ebpf-mcp-server loads it). Split like the CLI: what only -t http (the SDK's Node adapter and
# Hono) or --policy (the YAML parser) imports goes into chunks under $(SERVER_CHUNKS), so a stdio server neither
# compiles nor runs it.
$(SERVER_BUNDLE): $(TS_SRCS) package-lock.json | deps
	rm -rf $(SERVER_CHUNKS)
	$(ESBUILD) --splitting src/server/main.ts --outdir=dist --entry-names=ebpf-mcp-server --chunk-names=server-chunks/[name]-[hash] --out-extension:.js=.mjs

# The CLI (src/cli/; bin/ebpf-mcp loads it). Split: what only `--fleet --k8s-service` imports (the Kubernetes
# client, about 5 MB bundled) goes into a chunk under $(CLI_CHUNKS), loaded when that mode runs, so every other
# command starts as fast as before.
$(CLI_BUNDLE): $(TS_SRCS) package-lock.json | deps
	rm -rf $(CLI_CHUNKS)
	$(ESBUILD) --splitting src/cli/index.ts --outdir=dist --entry-names=ebpf-mcp --chunk-names=cli-chunks/[name]-[hash] --out-extension:.js=.mjs

# The installable package, dist/pack/ebpf-mcp-<version>.tgz (scripts/pack.mjs): prebuilt for this platform, no
# runtime dependencies, nothing to compile at install (README, Install).
pack: build
	node scripts/pack.mjs >/dev/null

# Regenerate schemas/ and docs/TOOL_SPECS.md from the tool definitions.
schemas: build
	node dist/scripts/gen-docs.js

test: build pack $(WORKLOAD) bench-build
	node scripts/conformance.mjs
	node scripts/run-tests.mjs

# The MCP conformance suite against `-t http`, at 2025-11-25 and 2026-07-28 (scripts/conformance.mjs installs the
# pinned suites and Node 22 into .deps/conformance; test/conformance/baseline.yml lists what needs its fixtures).
conformance: build
	node scripts/conformance.mjs

# Unit tests only: no root, no kernel, no addon (TypeScript and the BPF objects they parse).
test-unit: dist/.stamp $(UNIT_BPF_OBJS) $(ABI_NAMES)
	node scripts/run-tests.mjs unit

# The whole suite while scripts/noise loads every CPU with getpid, openat, exec and loopback connects; the noise
# stops when the suite ends, whatever its result, and the suite's status is make's.
NOISE_SECONDS ?= 1800
test-noisy: build pack $(WORKLOAD) bench-build
	@scripts/noise $(NOISE_SECONDS) & noise=$$!; \
	node scripts/run-tests.mjs; status=$$?; \
	kill $$noise 2>/dev/null; wait $$noise; exit $$status

# Benchmarks against C libbpf, bpftool and bpftrace (bench/): BPF programs, C consumers, then the harness,
# which writes bench/results/latest.json and docs/BENCHMARKS.md.
BENCH_OUT := bench/.output
BENCH_BPF := $(patsubst bench/bpf/%.bpf.c,$(BENCH_OUT)/%.bpf.o,$(wildcard bench/bpf/*.bpf.c))
BENCH_C := $(patsubst bench/c/%.c,$(BENCH_OUT)/%,$(wildcard bench/c/*.c))

$(BENCH_OUT)/%.bpf.o: bench/bpf/%.bpf.c $(wildcard bench/bpf/*.h) $(OUT)/vmlinux.h | deps
	$(BPF_CC)

$(BENCH_OUT)/%: bench/c/%.c $(wildcard bench/c/*.h) | deps
	$(LIBBPF_CC)

# The footprint's floor (bench/floor-server.ts), bundled like the server.
FLOOR_SERVER := $(BENCH_OUT)/floor-server.mjs
$(FLOOR_SERVER): bench/floor-server.ts package-lock.json | deps
	$(ESBUILD) bench/floor-server.ts --outfile=$@

bench-build: build $(WORKLOAD) $(BENCH_BPF) $(BENCH_C) $(FLOOR_SERVER)

bench: bench-build
	node dist/bench/run.js

# The long soak (about ten minutes, not in CI): hostile objects, schema fuzzing, paths, protocol abuse, kills and
# concurrency, each figure printed. make test runs the same parts at a bounded scale.
soak: build $(WORKLOAD) bench-build
	node dist/scripts/soak.js

demo: build
	node dist/scripts/demo.js

clean:
	rm -rf build dist $(OUT) test/.output $(BENCH_OUT) native/.output
