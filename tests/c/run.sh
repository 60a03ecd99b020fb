#!/usr/bin/env bash
# The C door's tests: the exported symbol list and SONAME, the C test suite
# (AddressSanitizer + UBSan, leaks fatal) as root and as uid 65534 without
# capabilities, then an install into a clean prefix and the C and C++
# examples built against it through pkg-config and run.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
cargo build -q -p sandbox-ffi
lib="$target/debug"
passed=0 failed=0
step() { echo "-- $1"; }
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sbx-test-c-build-XXXXXX")
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT

step "exported symbols match ffi/libsandbox.symbols"
nm -D --defined-only "$lib/libsandbox.so" | awk '{print $3}' | sort > "$work/symbols"
if diff -u ffi/libsandbox.symbols "$work/symbols"; then pass symbols; else
    fail "symbols (update ffi/libsandbox.symbols deliberately: exports are the ABI)"
fi

step "SONAME is libsandbox.so.<major>"
major=$(sed -n 's/^#define SBX_VERSION_MAJOR \(.*\)/\1/p' include/sandbox.h)
if readelf -d "$lib/libsandbox.so" | grep -q "SONAME.*\[libsandbox.so.$major\]"; then pass soname; else fail soname; fi

step "C tests (ASan + UBSan), root"
cc -std=c11 -Wall -Wextra -Werror -g -fsanitize=address,undefined -fno-omit-frame-pointer -Iinclude \
    tests/c/test_sandbox.c "$lib/libsandbox.a" -lpthread -ldl -lm -lrt -lutil -o "$work/test_sandbox"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if "$work/test_sandbox"; then pass "c tests as root"; else fail "c tests as root"; fi

step "C tests (ASan + UBSan), uid 65534 without capabilities"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
if (cd "$work" && "${nobody[@]}" "$work/test_sandbox"); then pass "c tests as uid 65534"; else fail "c tests as uid 65534"; fi

step "install into a clean prefix; examples via pkg-config"
prefix="$work/prefix"
PREFIX="$prefix" PROFILE=debug scripts/install-c.sh
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags="-Wall -Wextra -Werror"
rpath="-Wl,-rpath,$prefix/lib"
build_and_run() { # name, compiler and sources...
    local name=$1; shift
    if "$@" $(pkg-config --cflags --libs sandbox) $rpath -o "$work/$name" && "$work/$name"; then
        pass "$name"
    else
        fail "$name"
    fi
}
build_and_run run cc $flags examples/c/run.c
build_and_run spawn cc $flags examples/c/spawn.c
build_and_run parallel-runs c++ -std=c++17 $flags -pthread examples/cpp/parallel-runs.cpp
# The shared library it loaded is the installed one, by its SONAME.
if ldd "$work/run" | grep -q "libsandbox.so.$major => $prefix/lib/libsandbox.so.$major"; then
    pass "linked against the installed libsandbox.so.$major"
else
    fail "linked against the installed libsandbox.so.$major"; ldd "$work/run"
fi
# A static link through pkg-config --static.
if cc $flags examples/c/run.c -I"$prefix/include" "$prefix/lib/libsandbox.a" \
    $(pkg-config --static --libs-only-l sandbox | sed 's/-lsandbox//') -o "$work/run-static" && "$work/run-static" >/dev/null; then
    pass "static link"
else
    fail "static link"
fi
if (cd "$work" && "${nobody[@]}" "$work/run" >/dev/null); then pass "example as uid 65534"; else fail "example as uid 65534"; fi

echo "c: $passed passed, $failed failed"
[ "$failed" = 0 ]
