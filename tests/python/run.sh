#!/usr/bin/env bash
# The Python door's tests: build the wheel, install it into a fresh venv in a
# temp dir every uid can read (the rootless test re-runs the suite as uid
# 65534, which cannot enter a checkout under a 0700 home), then pytest,
# stubtest on the compiled module, mypy --strict on the package and the
# examples, and the examples themselves. Called by tests/run-all.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

# Pinned tools (PyPI).
MATURIN=maturin==1.9.6
PYTEST=pytest==8.4.2
MYPY=mypy==1.18.2

tmp=$(mktemp -d /tmp/sbx-py-run-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
passed=0 failed=0
step() {
    local name=$1; shift
    echo "== python: $name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

# Debian's interpreter, not a shim on root's PATH: uid 65534 must run it.
py=/usr/bin/python3
setup() {
    "$py" -m venv "$tmp/venv" &&
        "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$MATURIN" "$PYTEST" "$MYPY" &&
        PYO3_PYTHON="$tmp/venv/bin/python" "$tmp/venv/bin/maturin" build -q --release \
            -m python/Cargo.toml -o "$tmp/wheels" &&
        "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$tmp"/wheels/*.whl &&
        chmod -R a+rX "$tmp"
}
if ! step "build and install the wheel" setup; then
    echo "python: $passed passed, $failed failed"; exit 1
fi
vpy=$tmp/venv/bin/python

step "pytest" "$vpy" -m pytest -q -p no:cacheprovider tests/python
# Run from the temp dir so `sandbox` is the installed package, not python/sandbox.
step "stubtest sandbox._sandbox" bash -c "cd '$tmp' && '$vpy' -m mypy.stubtest sandbox._sandbox"
step "mypy --strict sandbox" bash -c "cd '$tmp' && '$vpy' -m mypy --strict --cache-dir '$tmp/mypy-cache' -p sandbox"
step "mypy --strict examples/python" "$vpy" -m mypy --strict --cache-dir "$tmp/mypy-cache" examples/python
for ex in examples/python/*.py; do
    step "example $(basename "$ex")" "$vpy" "$ex"
done

echo "python: $passed passed, $failed failed"
[ "$failed" = 0 ]
