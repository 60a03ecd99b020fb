"""What a workload sees and cannot do. Re-run as uid 65534 by
test_rootless.py, so every claim holds without root too."""

from __future__ import annotations

import os

import sandbox


def sh(script: str, **kw: object) -> str:
    r = sandbox.run(["sh", "-c", script], capture_output=True, text=True, timeout=10, **kw)  # type: ignore[arg-type]
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_own_pid_namespace() -> None:
    # init is pid 1, the workload pid 2; no host process is visible.
    assert sh("echo $$; cat /proc/1/comm >/dev/null && echo init-is-ours") == "2\ninit-is-ours\n"
    assert int(sh("ls /proc | grep -c '^[0-9]'")) <= 4


def test_root_inside_nobody_outside() -> None:
    assert sh("id -u") == "0\n"
    host_ids = sh("cat /proc/self/uid_map").split()
    assert host_ids[0] == "0" and host_ids[1] != "0"  # sandbox root is not host root


def test_host_view_is_read_only_and_tmp_private() -> None:
    marker = f"/tmp/sbx-py-marker-{os.getpid()}"
    with open(marker, "w") as f:
        f.write("host")
    try:
        out = sh(f"touch /usr/x 2>/dev/null || echo ro; test -e {marker} || echo private; touch /tmp/y && echo tmp-ok")
        assert out == "ro\nprivate\ntmp-ok\n"
    finally:
        os.unlink(marker)


def test_no_network_but_loopback() -> None:
    assert sh("ls /sys/class/net 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '") == "lo\n"


def test_no_capabilities_and_no_new_privs() -> None:
    out = sh("grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status")
    assert out == "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n"


def test_nested_user_namespaces_refused() -> None:
    assert sh("cat /proc/sys/user/max_user_namespaces") == "0\n"


def test_host_environment_not_passed() -> None:
    os.environ["SBX_SECRET"] = "s"
    try:
        assert "SBX_SECRET" not in sh("env")
    finally:
        del os.environ["SBX_SECRET"]


def test_proc_sys_read_only() -> None:
    assert sh("echo 1 > /proc/sys/kernel/hostname 2>/dev/null || echo refused") == "refused\n"
