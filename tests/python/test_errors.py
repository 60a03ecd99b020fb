"""Every exception: its class, its builtin namesake, its message."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess

import pytest

import sandbox


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"output_limit": "lots"}, "output_limit: 'lots' is not a size; use a number of bytes with an optional k, m, g or t suffix (e.g. 64m)"),
        ({"output_limit": -1}, "output_limit: -1 is negative; use a number of bytes >= 0"),
        ({"timeout": 0}, "timeout: 0 is not a positive number of seconds; use e.g. 2 or 0.5"),
        ({"timeout": "2s"}, "timeout: '2s' is not a positive number of seconds; use e.g. 2 or 0.5"),
        ({"network": "bridge"}, "network: 'bridge' is not one of 'none', 'host'"),
        ({"id_mapping": "x"}, "id_mapping: 'x' is not one of 'auto', 'subordinate', 'host-root'"),
        ({"share": ["time"]}, "share: 'time' is not one of 'mount', 'pid', 'ipc', 'uts', 'net', 'cgroup'"),
        ({"share": "net"}, "share: 'net' is not a list of names; write e.g. [\"net\"]"),
        ({"user": "bob"}, "user: 'bob' is not UID[:GID]; write e.g. 1000, \"1000:100\" or (1000, 100)"),
        ({"mounts": ["nocolon"]}, "mounts[0]: 'nocolon' is not a mount; use \"SRC:DST[:ro]\", sandbox.Bind(src, dst) or sandbox.Tmpfs(dst)"),
        ({"mounts": [sandbox.Bind("/usr", "data")]}, "mounts[0]: mount target 'data' must be an absolute path inside the sandbox (e.g. /data)"),
        ({"mounts": [sandbox.Tmpfs("/t", size="big")]}, "mounts[0] size: 'big' is not a size; use a number of bytes with an optional k, m, g or t suffix (e.g. 64m)"),
        ({"rootfs": "/nonexistent/rootfs"}, "rootfs: /nonexistent/rootfs does not exist or is not a directory; give an existing directory to use as /"),
        ({"env": ["A=1"]}, "env: list is not a mapping; give a dict like {\"LANG\": \"C\"}"),
        ({"env": {"A=B": "1"}}, "env: 'A=B' is not a variable name (empty, or has '=' or NUL)"),
        ({"hostname": 5}, "hostname: 5 is not a str"),
    ],
)
def test_config_error_names_the_argument(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(sandbox.ConfigError) as info:
        sandbox.run(["true"], **kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and isinstance(info.value, sandbox.SandboxError)
    assert info.value.stage == "validate"


def test_config_errors_are_raised_by_sandbox_before_running() -> None:
    with pytest.raises(sandbox.ConfigError, match="^cwd: "):
        sandbox.Sandbox(cwd="relative")


def test_bad_arguments() -> None:
    with pytest.raises(sandbox.ConfigError, match=r"^args: the command is empty"):
        sandbox.run([])
    with pytest.raises(sandbox.ConfigError, match=r"^args\[1\]: 'a\\x00b' contains a NUL byte"):
        sandbox.run(["echo", "a\0b"])
    with pytest.raises(sandbox.ConfigError, match="^stdout: 'x' is not a stream"):
        sandbox.run(["true"], stdout="x")  # type: ignore[arg-type]
    with pytest.raises(sandbox.ConfigError, match="^capture_output: cannot be used with stdout"):
        sandbox.run(["true"], capture_output=True, stdout=sandbox.PIPE)


@pytest.mark.parametrize("name", ["seccomp", "image"])
def test_coming_capabilities_are_refused_not_ignored(name: str) -> None:
    with pytest.raises(TypeError, match=f"keyword argument '{name}', which this version of sandbox cannot enforce yet"):
        sandbox.run(["true"], **{name: "1"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword argument 'memroy'"):
        sandbox.Sandbox(memroy="1G")  # type: ignore[call-arg]


def test_setup_error_is_an_oserror_with_errno_filename_stage() -> None:
    with pytest.raises(sandbox.SetupError) as info:
        sandbox.run(["no-such-program-x"])
    e = info.value
    assert isinstance(e, OSError) and e.errno == errno.ENOENT and e.stage == "validate"
    assert str(e).startswith("command: 'no-such-program-x' not found in the sandbox (PATH=")
    assert str(e).endswith("give an absolute path or mount the directory that holds it")
    with pytest.raises(sandbox.ConfigError) as info2:
        sandbox.run(["/x"], mounts=["/nonexistent-src:/x"])
    assert str(info2.value).startswith("mounts[0]: bind source /nonexistent-src does not exist")


def test_setup_error_from_the_child(tmp_dir: str) -> None:
    script = os.path.join(tmp_dir, "script")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(script, 0o644)
    with pytest.raises(sandbox.SetupError) as info:
        sandbox.run(["/w/script"], mounts=[f"{tmp_dir}:/w:ro"])
    assert str(info.value) == "command: '/w/script' cannot be executed: permission denied (EACCES)"
    assert info.value.errno == errno.EACCES and info.value.stage == "exec"
    assert info.value.filename is None or isinstance(info.value.filename, str)


def test_timeout_expired_is_subprocess_timeout_expired() -> None:
    with sandbox.Sandbox().spawn(["sh", "-c", "echo part; sleep 10"], stdout=sandbox.PIPE) as p:
        with pytest.raises(sandbox.TimeoutExpired) as info:
            p.communicate(timeout=0.3)
        e = info.value
        assert isinstance(e, subprocess.TimeoutExpired) and isinstance(e, sandbox.SandboxError)
        assert (e.timeout, e.output) == (0.3, b"part\n")
        assert str(e) == "Command '['sh', '-c', 'echo part; sleep 10']' timed out after 0.3 seconds"


def test_unsupported_error_and_feature() -> None:
    e = sandbox._errors.from_core("unsupported", "clone", 28, None, "user namespaces off")
    assert isinstance(e, sandbox.UnsupportedError) and e.feature == "user_namespaces" and e.stage == "clone"
    assert str(e) == "user namespaces off"


def test_io_error_is_the_base_class() -> None:
    e = sandbox._errors.from_core("io", "wait", 5, None, "polling the sandbox failed")
    assert type(e) is sandbox.SandboxError and e.stage == "wait"


def test_classes_for_coming_features_exist() -> None:
    assert issubclass(sandbox.ImageError, sandbox.SandboxError)


def test_limit_error_is_an_unsupported_error_from_core() -> None:
    assert issubclass(sandbox.LimitError, sandbox.UnsupportedError)
    message = "limits.pids: no writable cgroup with the pids controller, and strict limits are on; drop strict limits"
    e = sandbox._errors.from_core("unsupported", "cgroup", None, None, message, "pids")
    assert type(e) is sandbox.LimitError
    assert (e.limit, e.feature, e.stage, str(e)) == ("pids", "cgroups", "cgroup", message)


def test_called_process_error_pickles() -> None:
    with pytest.raises(sandbox.CalledProcessError) as info:
        sandbox.run(["false"], check=True)
    again = pickle.loads(pickle.dumps(info.value))
    assert again.returncode == 1 and again.result.returncode == 1


# -- review fixes --------------------------------------------------------------


def test_setup_error_pickles() -> None:
    e = sandbox._errors.from_core("setup", "mount", errno.EBUSY, "/x", "mount failed")
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is sandbox.SetupError
    assert (str(again), again.errno, again.filename, again.stage) == ("mount failed", errno.EBUSY, "/x", "mount")
    with pytest.raises(sandbox.SetupError) as info:
        sandbox.run(["/nonexistent"])
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is type(info.value) and isinstance(again, FileNotFoundError)
    assert (str(again), again.errno, again.filename) == (str(info.value), errno.ENOENT, "/nonexistent")


def test_unsupported_error_pickles() -> None:
    e = sandbox._errors.from_core("unsupported", "idmap", None, None, "no subordinate ids")
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is sandbox.UnsupportedError
    assert (str(again), again.feature, again.stage) == ("no subordinate ids", "subordinate_ids", "idmap")


def test_other_errors_pickle() -> None:
    for e in (sandbox.ConfigError("x: bad"), sandbox.TimeoutExpired(["a"], 1.5, b"o", b"e")):
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is type(e) and str(again) == str(e)


def test_program_not_found_is_file_not_found_error() -> None:
    with pytest.raises(FileNotFoundError) as info:
        sandbox.run(["/nonexistent"])
    e = info.value
    assert isinstance(e, sandbox.SetupError) and e.errno == errno.ENOENT and e.filename == "/nonexistent"
    assert type(e).__name__ == "SetupFileNotFoundError"
    with pytest.raises(FileNotFoundError) as info:
        sandbox.run(["no-such-program-x"])
    assert info.value.filename == "no-such-program-x"


def test_program_not_executable_is_permission_error(tmp_dir: str) -> None:
    script = os.path.join(tmp_dir, "script")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(script, 0o644)
    with pytest.raises(PermissionError) as info:
        sandbox.run(["/w/script"], mounts=[f"{tmp_dir}:/w:ro"])
    assert isinstance(info.value, sandbox.SetupError) and info.value.filename == "/w/script"
    assert type(info.value).__name__ == "SetupPermissionError"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"output_limit": 2**70}, "output_limit: 1180591620717411303424 is too large; use a number of bytes below 2**64"),
        ({"stdout": 2**40}, "stdout: 1099511627776 is not a stream; use None, PIPE, DEVNULL, a file or an fd"),
        ({"stdin": -1.0}, "stdin: -1.0 is not a stream; use None, PIPE, DEVNULL, a file or an fd"),
        ({"mounts": [sandbox.Tmpfs(5)]}, "mounts[0] target: 5 is not a path; give a str or os.PathLike"),  # type: ignore[arg-type]
        ({"mounts": ["/a:/b", sandbox.Tmpfs("/t", mode="x")]}, "mounts[1] mode: 'x' is not a permission mode; use e.g. 0o1777"),  # type: ignore[arg-type]
        ({"mounts": [sandbox.Tmpfs("/t", mode=0o10000)]}, "mounts[0] mode: 4096 is not a permission mode; use e.g. 0o1777"),
        ({"mounts": [sandbox.Bind(None, "/x")]}, "mounts[0] source: None is not a path; give a str or os.PathLike"),  # type: ignore[arg-type]
        ({"mounts": [sandbox.Bind("/usr", "/x", "yes")]}, "mounts[0] readonly: 'yes' is not True or False"),  # type: ignore[arg-type]
        ({"read_only": "no"}, "read_only: 'no' is not True or False"),
        ({"nested_userns": "no"}, "nested_userns: 'no' is not True or False"),
        ({"user": "1\n"}, "user: '1\\n' is not UID[:GID]; write e.g. 1000, \"1000:100\" or (1000, 100)"),
        ({"env": {"A": "a\0b"}}, "env: the value of 'A' contains a NUL byte, which an environment cannot hold"),
        ({"encoding": "bogus"}, "encoding: 'bogus' is not a codec; use e.g. \"utf-8\""),
        ({"errors": "bogus"}, "errors: 'bogus' is not an error handler; use e.g. \"strict\" or \"replace\""),
    ],
)
def test_more_config_errors(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(sandbox.ConfigError) as info:
        sandbox.run(["true"], **kwargs)
    assert str(info.value) == message


def test_huge_sandbox_timeout_message_is_short() -> None:
    with pytest.raises(sandbox.ConfigError) as info:
        sandbox._sandbox.Sandbox(
            rootfs=None, read_only=False, mounts=[], cwd=None, hostname="h", network="none",
            timeout=1e300, output_limit=None, uid=0, gid=0, id_mapping="auto", share=[],
            cap_add=[], nested_userns=False,
        )
    assert str(info.value) == "timeout: 1e300 is not a positive number of seconds; use e.g. 2 or 0.5"


@pytest.mark.parametrize("value", [5, [65, 66], {"a": 1}])
def test_input_must_be_bytes_like(value: object) -> None:
    with pytest.raises(TypeError, match="^input: .* is not bytes-like"):
        sandbox.run(["cat"], input=value)  # type: ignore[arg-type]
    assert sandbox.run(["cat"], input=bytearray(b"ok"), capture_output=True).stdout == b"ok"
    assert sandbox.run(["cat"], input=memoryview(b"ok"), capture_output=True).stdout == b"ok"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_failures_leak_no_fds() -> None:
    failing = [
        lambda: sandbox.run(["/nonexistent"], stdout=sandbox.PIPE, stderr=sandbox.STDOUT),
        lambda: sandbox.run(["/nonexistent"], capture_output=True, input=b"x"),
        lambda: sandbox.run(["true"], capture_output=True, encoding="bogus"),
        lambda: sandbox.Sandbox().spawn(["cat"], stdin=sandbox.PIPE, stdout=sandbox.PIPE, errors="bogus"),
        lambda: sandbox.run(["cat"], input=5, capture_output=True),  # type: ignore[arg-type]
        lambda: sandbox.run(["true"], stdout=sandbox.PIPE, stderr=sandbox.STDOUT, stdin=-5),
    ]
    before = _open_fds()
    for _ in range(20):
        for call in failing:
            with pytest.raises((sandbox.SandboxError, TypeError, ValueError)):
                call()
    assert _open_fds() == before
