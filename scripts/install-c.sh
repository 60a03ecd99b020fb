#!/usr/bin/env bash
# Installs the C library: libsandbox.so.<version> with its SONAME link
# libsandbox.so.<major> and the dev link libsandbox.so, libsandbox.a,
# include/sandbox.h and lib/pkgconfig/sandbox.pc.
#
#   scripts/install-c.sh                 # PREFIX=/usr/local, release build
#   PREFIX=$HOME/.local scripts/install-c.sh
#   DESTDIR=/tmp/pkg PREFIX=/usr scripts/install-c.sh   # staged, for packagers
#   PROFILE=debug scripts/install-c.sh   # install the debug build instead
#
# Then: cc prog.c $(pkg-config --cflags --libs sandbox)
# (with PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig for a non-system prefix).
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
PROFILE=${PROFILE:-release}
DESTDIR=${DESTDIR:-}

case "$PROFILE" in
    release) cargo build -q --release -p sandbox-ffi ;;
    debug) cargo build -q -p sandbox-ffi ;;
    *) cargo build -q --profile "$PROFILE" -p sandbox-ffi ;;
esac
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out="$target/$PROFILE"
version=$(sed -n 's/^#define SBX_VERSION_STRING "\(.*\)"/\1/p' include/sandbox.h)
major=${version%%.*}
# What a static link needs besides libsandbox.a (rustc's native-static-libs).
native_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

install -d "$DESTDIR$LIBDIR/pkgconfig" "$DESTDIR$PREFIX/include"
install -m 0755 "$out/libsandbox.so" "$DESTDIR$LIBDIR/libsandbox.so.$version"
ln -sf "libsandbox.so.$version" "$DESTDIR$LIBDIR/libsandbox.so.$major"
ln -sf "libsandbox.so.$major" "$DESTDIR$LIBDIR/libsandbox.so"
install -m 0644 "$out/libsandbox.a" "$DESTDIR$LIBDIR/libsandbox.a"
install -m 0644 include/sandbox.h "$DESTDIR$PREFIX/include/sandbox.h"
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@LIBDIR@|$LIBDIR|" -e "s|@VERSION@|$version|" \
    -e "s|@NATIVE_LIBS@|$native_libs|" ffi/sandbox.pc.in > "$DESTDIR$LIBDIR/pkgconfig/sandbox.pc"
echo "installed libsandbox $version into $DESTDIR$PREFIX"
