# ebpf-mcp build. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
OUT := bpf/.output
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# Where Debian keeps <asm/*.h> for this machine (usdt.bpf.h needs it).
MULTIARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
BPF_SRCS := $(wildcard bpf/catalog/*.bpf.c bpf/fixtures/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
NATIVE := build/Release/ebpf_native.node
TS_SRCS := $(shell find src test scripts -name '*.ts' 2>/dev/null)
export npm_config_nodedir := /usr

.PHONY: build deps test demo schemas check-docs clean

WORKLOAD := test/.output/workload

build: deps $(NATIVE) $(BPF_OBJS) dist/.stamp

# A countable workload for the kernel tests (getpid, uprobe and USDT targets, UDP, CPU).
$(WORKLOAD): test/workload/workload.c | deps
	@mkdir -p $(dir $@)
	cc -O1 -g -Wall -o $@ $<

deps:
	@scripts/setup.sh

$(NATIVE): binding.gyp $(wildcard native/src/*.c native/src/*.h) | deps
	npx node-gyp rebuild --nodedir=/usr >&2

$(OUT)/vmlinux.h: | deps
	@mkdir -p $(OUT)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/include/*.h) | deps
	@mkdir -p $(dir $@)
	clang -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Ibpf/include -idirafter $(MULTIARCH_INC) -Wall -Wno-unused-function -c $< -o $@
	llvm-strip -g $@

dist/.stamp: $(TS_SRCS) tsconfig.json package-lock.json | deps
	npx tsc -p tsconfig.json
	@touch $@

# Regenerate schemas/ and docs/TOOL_SPECS.md from the tool definitions.
schemas: build
	node dist/scripts/gen-docs.js

test: build $(WORKLOAD)
	node scripts/run-tests.mjs

demo: build
	node dist/scripts/demo.js

clean:
	rm -rf build dist $(OUT) test/.output
