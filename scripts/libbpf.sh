#!/usr/bin/env bash
# Builds the libbpf the addon links statically: the source package of Debian's
# trixie release, fetched with apt-get through a private apt state under
# .deps/ (nothing system-wide changes), built as a position-independent
# libbpf.a and installed with its headers (and the kernel UAPI headers it was
# written against) and pkg-config file under
# .deps/libbpf. Does nothing when that build is already there.
# `scripts/libbpf.sh headers` installs only the headers BPF programs include, compiling nothing (for test-unit).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.5.0
DEPS=$PWD/.deps
PREFIX=$DEPS/libbpf
STAMP=$PREFIX/.built-$VERSION
HEADERS_STAMP=$PREFIX/.headers-$VERSION
headers_only=$([[ ${1:-} == headers ]] && echo 1 || true)
[[ -f $STAMP ]] && exit 0
[[ -n $headers_only && -f $HEADERS_STAMP ]] && exit 0

APT=$DEPS/apt
SRC=$DEPS/src
rm -rf "$APT" "$SRC" "$PREFIX"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/parts" "$SRC"

# The machine's own Debian mirror, with the trixie suite for sources only.
uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[[ -n $uri ]] || uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null || true)
if [[ -z $uri ]]; then
  echo "libbpf: no Debian mirror configured in /etc/apt" >&2
  exit 1
fi
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$APT/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/parts"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq
)
echo "libbpf: fetching the libbpf $VERSION source package" >&2
apt-get "${apt_opts[@]}" update >&2
(cd "$SRC" && apt-get "${apt_opts[@]}" source --download-only libbpf >&2)
if [[ ! -f $SRC/libbpf_$VERSION.orig.tar.gz ]]; then
  echo "libbpf: trixie no longer has libbpf $VERSION: $(ls "$SRC")" >&2
  exit 1
fi
tar -xzf "$SRC/libbpf_$VERSION.orig.tar.gz" -C "$SRC"
dir=$(find "$SRC" -maxdepth 1 -type d -name 'libbpf-*' | head -n1)

if [[ -n $headers_only ]]; then
  make -s -C "$dir/src" DESTDIR="$PREFIX" PREFIX=/ INCLUDEDIR=/include install_headers install_uapi_headers >&2
  rm -rf "$APT" "$SRC"
  touch "$HEADERS_STAMP"
  exit 0
fi

echo "libbpf: building libbpf.a" >&2
make -s -C "$dir/src" -j"$(nproc)" BUILD_STATIC_ONLY=y EXTRA_CFLAGS='-fPIC -O2 -g' \
  OBJDIR="$DEPS/obj" DESTDIR="$PREFIX" PREFIX=/ LIBDIR=/lib INCLUDEDIR=/include install install_uapi_headers >&2
# The .pc file names PREFIX=/; point it at where the build really is.
sed -i -e "s|^prefix=.*|prefix=$PREFIX|" -e "s|^libdir=.*|libdir=\${prefix}/lib|" \
  -e "s|^includedir=.*|includedir=\${prefix}/include|" "$PREFIX/lib/pkgconfig/libbpf.pc"
rm -rf "$APT" "$SRC" "$DEPS/obj"
touch "$STAMP"
