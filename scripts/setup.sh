#!/usr/bin/env bash
# Installs what the build needs on a fresh Debian machine, and nothing when it
# is already there: the BPF toolchain from apt, libbpf 1.5 built from Debian
# trixie's source (scripts/libbpf.sh), then npm packages.
# Called by `make build`, so `make demo` and `make test` work on a new machine.
# `scripts/setup.sh unit` is what `make test-unit` needs: the compilers, libbpf's headers only, npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# command-or-file  package
needs=(
  "clang clang"
  "llc llvm"
  "llvm-strip llvm"
  "bpftool bpftool"
  "bpftrace bpftrace"
  "pkg-config pkg-config"
  "ip iproute2"
  "/usr/include/libelf.h libelf-dev"
  "/usr/include/zlib.h zlib1g-dev"
  "/usr/include/$(uname -m)-linux-gnu/sys/sdt.h systemtap-sdt-dev"
  "tar tar"
  "make make"
)
unit=$([[ ${1:-} == unit ]] && echo 1 || true)
[[ -n $unit ]] && needs=("clang clang" "llvm-strip llvm" "bpftool bpftool" "tar tar" "make make")
missing=()
for entry in "${needs[@]}"; do
  what=${entry% *} pkg=${entry#* }
  if [[ $what == /* ]]; then [[ -e $what ]] && continue; else command -v "$what" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
# scripts/noise (make test-noisy) calls getpid through perl's syscall.ph, which perl-base alone lacks.
[[ -n $unit ]] || perl -e 'require "syscall.ph"' 2>/dev/null || missing+=(perl)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "setup: need root and apt-get to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

scripts/libbpf.sh ${unit:+headers}

# npm ci when node_modules is missing or older than the lock file; for unit tests without its install step, which
# would build the addon (npm runs node-gyp for a package with a binding.gyp).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund ${unit:+--ignore-scripts} >&2
fi
