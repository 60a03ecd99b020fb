"""sandbox.run: every keyword and every result field, with real sandboxes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

import sandbox
from conftest import is_root


def sh(script: str, **kw: object) -> sandbox.CompletedRun:  # type: ignore[type-arg]
    return sandbox.run(["sh", "-c", script], capture_output=True, text=True, **kw)  # type: ignore[arg-type]


def test_result_is_a_completed_process_with_sandbox_fields() -> None:
    r = sandbox.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True)
    assert isinstance(r, subprocess.CompletedProcess)
    assert (r.args, r.returncode, r.stdout, r.stderr) == (
        ["sh", "-c", "echo out; echo err >&2; exit 3"], 3, b"out\n", b"err\n",
    )
    assert (r.timed_out, r.signal, r.stdout_truncated, r.stderr_truncated) == (False, None, False, False)
    assert r.usage.wall_time > 0 and r.usage.peak_memory > 0
    assert r.usage.cpu_time == pytest.approx(r.usage.user_time + r.usage.system_time)


def test_usage_counts_cpu_time() -> None:
    r = sandbox.run(["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
    assert r.usage.cpu_time > 0.05 and r.usage.wall_time >= r.usage.cpu_time * 0.5


def test_not_captured_by_default() -> None:
    r = sandbox.run(["true"])
    assert (r.returncode, r.stdout, r.stderr) == (0, None, None)


def test_text_decodes_like_subprocess() -> None:
    r = sandbox.run(["cat"], input="héllo\r\nwörld\r", text=True, capture_output=True)
    assert r.stdout == "héllo\nwörld\n"
    r = sandbox.run(["printf", "\\377"], capture_output=True, encoding="latin-1")
    assert r.stdout == "\xff"


def test_input_bytes_and_large_input() -> None:
    data = os.urandom(1 << 20)
    r = sandbox.run(["cat"], input=data, capture_output=True)
    assert r.stdout == data


def test_timeout_kills_and_reports() -> None:
    r = sandbox.run(["sh", "-c", "(setsid sleep 100 &); sleep 100"], timeout=0.3)
    assert r.timed_out and r.returncode == -signal.SIGKILL and r.signal == signal.SIGKILL
    assert 0.3 <= r.usage.wall_time < 3


def test_signal_is_reported() -> None:
    r = sandbox.run(["sh", "-c", "kill -TERM $$"])
    assert r.returncode == -15 and r.signal == signal.SIGTERM and not r.timed_out


def test_check_raises_called_process_error() -> None:
    with pytest.raises(sandbox.CalledProcessError) as info:
        sandbox.run(["sh", "-c", "echo no; exit 4"], check=True, capture_output=True)
    e = info.value
    assert isinstance(e, subprocess.CalledProcessError) and isinstance(e, sandbox.SandboxError)
    assert (e.returncode, e.cmd, e.output, e.result.returncode) == (4, ["sh", "-c", "echo no; exit 4"], b"no\n", 4)
    assert str(e) == "Command '['sh', '-c', 'echo no; exit 4']' returned non-zero exit status 4."
    with pytest.raises(sandbox.CalledProcessError, match="killed by the sandbox's timeout"):
        sandbox.run(["sleep", "10"], timeout=0.2, check=True)
    assert sandbox.run(["true"], check=True).returncode == 0


def test_env_replaces_the_hosts() -> None:
    os.environ["SBX_HOST_SECRET"] = "x"
    try:
        r = sh("echo ${SBX_HOST_SECRET:-unset} $A $B", env={"A": "1", b"B": b"\xff"}, errors="surrogateescape")
    finally:
        del os.environ["SBX_HOST_SECRET"]
    assert r.stdout == "unset 1 \udcff\n"


def test_cwd_and_hostname() -> None:
    assert sh("pwd; hostname", cwd="/usr", hostname="judge").stdout == "/usr\njudge\n"
    assert sh("hostname").stdout == "sandbox\n"


def test_network_none_and_host() -> None:
    assert sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '").stdout == "lo\n"
    host = subprocess.run(["sh", "-c", "wc -l < /proc/net/dev"], capture_output=True, text=True).stdout
    assert sh("wc -l < /proc/net/dev", network="host").stdout == host


def test_user_inside() -> None:
    assert sh("id -u; id -g").stdout == "0\n0\n"
    assert sh("id -u; id -g", user=1000).stdout == "1000\n1000\n"
    assert sh("id -u; id -g", user="1000:100").stdout == "1000\n100\n"
    assert sh("id -u; id -g", user=(7, 8)).stdout == "7\n8\n"


def test_binds_tmpfs_and_read_only(tmp_dir: str) -> None:
    with open(os.path.join(tmp_dir, "in.txt"), "w") as f:
        f.write("data")
    mounts = [f"{tmp_dir}:/ro:ro", sandbox.Bind(tmp_dir, "/rw"), sandbox.Tmpfs("/scratch", size="1M")]
    r = sh("cat /ro/in.txt; echo x > /ro/f 2>/dev/null || echo ro-refused; echo y > /rw/out && "
           "dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null || echo full", mounts=mounts)
    assert r.stdout == "dataro-refused\nfull\n"
    with open(os.path.join(tmp_dir, "out")) as f:
        assert f.read() == "y\n"


def test_rootfs_directory(tmp_dir: str) -> None:
    root = os.path.join(tmp_dir, "root")
    os.makedirs(root)
    os.chmod(root, 0o777)  # writable by the sandbox's root, whatever host id that is
    with open(os.path.join(root, "marker"), "w") as f:
        f.write("mine")
    # The host's programs, bound read-only; merged-/usr links copied as links.
    binds = []
    for p in ("/usr", "/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(p):
            os.symlink(os.readlink(p), os.path.join(root, p.lstrip("/")))
        elif os.path.isdir(p):
            binds.append(sandbox.Bind(p, p, readonly=True))
    r = sh("cat /marker; echo w > /new && echo writable", rootfs=root, mounts=binds)
    assert r.stdout == "minewritable\n", r.stderr
    r = sh("echo w > /new2 2>/dev/null || echo read-only", rootfs=root, mounts=binds, read_only=True)
    assert r.stdout == "read-only\n"


def test_output_limit_truncates() -> None:
    r = sandbox.run(["head", "-c", "100000", "/dev/zero"], capture_output=True, output_limit="10k")
    assert len(r.stdout) == 10240 and r.stdout_truncated and not r.stderr_truncated
    r = sandbox.run(["head", "-c", "100000", "/dev/zero"], capture_output=True, output_limit=0)
    assert r.stdout == b"" and r.stdout_truncated
    r = sandbox.run(["head", "-c", "100000", "/dev/zero"], capture_output=True, output_limit="unlimited")
    assert len(r.stdout) == 100000 and not r.stdout_truncated


def test_share_cap_add_nested_userns() -> None:
    assert sh("hostname", share=["uts"]).stdout == subprocess.run(["hostname"], capture_output=True, text=True).stdout
    assert sh("grep CapEff /proc/self/status").stdout == "CapEff:\t0000000000000000\n"
    assert sh("grep CapEff /proc/self/status", cap_add=["CHOWN"]).stdout == "CapEff:\t0000000000000001\n"
    assert sh("cat /proc/sys/user/max_user_namespaces").stdout == "0\n"
    assert sh("cat /proc/sys/user/max_user_namespaces", nested_userns=True).stdout != "0\n"


@pytest.mark.skipif(not is_root(), reason="subordinate/host-root mappings are for root here")
def test_id_mapping_host_root() -> None:
    assert sh("cat /proc/self/uid_map", id_mapping="host-root").stdout.split()[:2] == ["0", "0"]
    auto = sh("cat /proc/self/uid_map").stdout.split()
    assert auto[1] != "0"


def test_streams_devnull_files_and_stdout(tmp_dir: str) -> None:
    path = os.path.join(tmp_dir, "out.txt")
    with open(path, "wb") as f:
        r = sandbox.run(["sh", "-c", "echo to-file; echo err >&2"], stdout=f, stderr=sandbox.STDOUT)
    assert r.stdout is None
    with open(path, "rb") as f:
        assert f.read() == b"to-file\nerr\n"
    r = sandbox.run(["sh", "-c", "echo a; echo b >&2"], stdout=sandbox.PIPE, stderr=sandbox.STDOUT)
    assert (r.stdout, r.stderr) == (b"a\nb\n", None)
    r = sandbox.run(["sh", "-c", "echo a"], stdout=sandbox.DEVNULL, stderr=subprocess.PIPE)
    assert (r.stdout, r.stderr) == (None, b"")
    with open(path, "rb") as f:
        assert sandbox.run(["cat"], stdin=f, capture_output=True).stdout == b"to-file\nerr\n"
    assert sandbox.run(["cat"], capture_output=True).stdout == b""  # stdin is /dev/null


def test_sandbox_object_is_reusable_and_overridable() -> None:
    box = sandbox.Sandbox(hostname="box", env={"A": "1"}, timeout=5)
    assert box.run(["hostname"], capture_output=True).stdout == b"box\n"
    r = box.run(["sh", "-c", "echo $A$B; hostname"], capture_output=True, env={"B": "2"}, hostname="other")
    assert r.stdout == b"12\nother\n"
    assert box.options["hostname"] == "box"
    assert '"hostname":"box"' in box.config_json()


def test_pathlike_and_bytes_args(tmp_dir: str) -> None:
    import pathlib

    assert sandbox.run([pathlib.Path("/bin/echo"), b"x"], capture_output=True).stdout == b"x\n"
    assert sandbox.run("true").returncode == 0


def test_python_workload_runs() -> None:
    r = sandbox.run(["/usr/bin/python3", "-c", "print(6*7)"], capture_output=True, timeout=10)
    assert r.stdout == b"42\n"


def test_check_reports_features() -> None:
    names = {f["name"] for f in sandbox.check()["features"]}
    assert {"kernel", "user_namespaces"} <= names
    assert sandbox.parse_size("256M") == 256 << 20


def test_module_surface() -> None:
    assert set(sandbox.__all__) <= set(dir(sandbox))
    assert sys.modules["sandbox._sandbox"].__name__ == "sandbox._sandbox"


# -- review fixes --------------------------------------------------------------


def test_text_output_cut_mid_character_decodes() -> None:
    # "é" is two bytes: a limit of 3 cuts the second one in half.
    r = sandbox.run(["printf", "a\\303\\251\\303\\251"], capture_output=True, text=True, output_limit=4)
    assert (r.stdout, r.stdout_truncated) == ("aé", True)
    r = sandbox.run(["printf", "a\\303\\251"], capture_output=True, text=True, output_limit=2)
    assert (r.stdout, r.stdout_truncated) == ("a", True)


def test_text_output_invalid_utf8_with_errors_replace() -> None:
    r = sandbox.run(["printf", "ok\\377"], capture_output=True, text=True, errors="replace")
    assert r.stdout == "ok\ufffd" and r.returncode == 0


def test_env_none_override_keeps_the_sandbox_env() -> None:
    box = sandbox.Sandbox(env={"A": "1"})
    assert box.run(["sh", "-c", "echo $A"], capture_output=True, env=None).stdout == b"1\n"
    assert box.run(["sh", "-c", "echo $A$B"], capture_output=True, env={"B": "2"}).stdout == b"12\n"


def test_type_hints_resolve_at_run_time() -> None:
    import typing

    for fn in (sandbox.run, sandbox.run_async, sandbox.Sandbox.run, sandbox.Sandbox.spawn, sandbox.Sandbox.__init__):
        hints = typing.get_type_hints(fn)
        assert "options" in hints or "overrides" in hints


def test_repr_hides_env_values() -> None:
    text = repr(sandbox.Sandbox(env={"TOKEN": "hunter2"}, timeout=2))
    assert "hunter2" not in text and "TOKEN" in text and "timeout=2" in text


def test_parse_size_takes_ints_and_refuses_the_rest() -> None:
    assert sandbox.parse_size(5) == 5 and sandbox.parse_size("1k") == 1024
    with pytest.raises(sandbox.ConfigError, match="^size: "):
        sandbox.parse_size(5.5)  # type: ignore[arg-type]


def test_infinite_sandbox_timeout_is_no_timeout() -> None:
    for t in (float("inf"), 1e300):
        box = sandbox.Sandbox(timeout=t)
        assert '"timeout":null' in box.config_json().replace(" ", "")
        assert box.run(["true"]).returncode == 0
