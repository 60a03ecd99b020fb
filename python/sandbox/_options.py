"""The sandbox's keywords: their types, their checks, and how they become
the compiled ``_sandbox.Sandbox``.

One set of names for ``run``, ``run_async``, ``Sandbox`` and ``spawn``,
following the CLI and the Rust builder. Each check raises
:class:`ConfigError` naming the keyword and the fix, before anything runs.
Keywords of capabilities the engine does not have yet (``seccomp``,
``image``) are refused by name rather than ignored.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, TypedDict, Union

from . import _sandbox
from ._errors import ConfigError

# Defined at run time (not only for type checkers), so
# typing.get_type_hints() resolves the signatures that use them.
StrPath = Union[str, "os.PathLike[str]"]
StrOrBytes = Union[str, bytes]
Size = Union[int, str]


class SandboxOptions(TypedDict, total=False):
    """Keywords shared by :func:`run`, :class:`Sandbox` and ``spawn``."""

    timeout: Optional[float]
    env: Optional[Mapping[StrOrBytes, StrOrBytes]]
    cwd: Optional[StrPath]
    network: Literal["none", "host"]
    rootfs: Optional[StrPath]
    read_only: bool
    mounts: Sequence[Union["Bind", "Tmpfs", str]]
    output_limit: Optional[Size]
    hostname: str
    user: Union[int, str, Tuple[int, int]]
    id_mapping: Literal["auto", "subordinate", "host-root"]
    share: Sequence[Literal["mount", "pid", "ipc", "uts", "net", "cgroup"]]
    cap_add: Sequence[str]
    nested_userns: bool
    memory: Optional[Size]
    pids: Optional[int]
    cpus: Optional[float]
    cpu_weight: Optional[int]
    cpu_time: Optional[float]
    nofile: Optional[int]
    fsize: Optional[Size]
    strict_limits: bool
    cgroup_parent: Optional[StrPath]


#: Keywords of capabilities that come with later versions of the engine.
#: Refused by name: a limit that was asked for must never be silently absent.
_NOT_YET = {
    "seccomp": "seccomp filters come with the seccomp support",
    "image": "images come with the image store",
}

OPTION_NAMES = (
    "timeout env cwd network rootfs read_only mounts output_limit hostname "
    "user id_mapping share cap_add nested_userns "
    "memory pids cpus cpu_weight cpu_time nofile fsize strict_limits cgroup_parent"
).split()


@dataclasses.dataclass(frozen=True)
class Bind:
    """Bind ``source`` on the host at ``target`` inside (read-only with
    ``readonly=True``). As the string ``"SRC:DST[:ro]"``, the CLI's ``-v``."""

    source: Union[str, "os.PathLike[str]"]
    target: Union[str, "os.PathLike[str]"]
    readonly: bool = False


@dataclasses.dataclass(frozen=True)
class Tmpfs:
    """A fresh tmpfs at ``target``, of at most ``size`` (bytes or ``"64M"``)
    and with permission bits ``mode`` (e.g. ``0o1777``)."""

    target: Union[str, "os.PathLike[str]"]
    size: Optional[Union[int, str]] = None
    mode: Optional[int] = None

    @property
    def size_bytes(self) -> Optional[int]:
        """``size`` in bytes (what the engine takes)."""
        return None if self.size is None else to_size("mounts: tmpfs size", self.size)


def check_names(options: Mapping[str, Any], where: str) -> None:
    """Unknown keywords are a TypeError, as for any Python function; those
    of capabilities still to come say so."""
    for name in options:
        if name in OPTION_NAMES:
            continue
        if name in _NOT_YET:
            raise TypeError(
                f"{where}() got keyword argument {name!r}, which this version of sandbox "
                f"cannot enforce yet: {_NOT_YET[name]}"
            )
        raise TypeError(f"{where}() got an unexpected keyword argument {name!r}")


def to_size(name: str, value: Union[int, str]) -> int:
    """Bytes from an int or a string such as ``"256M"`` (the engine's rules)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(
            f"{name}: {value!r} is not a size; use a number of bytes or a string like \"64M\""
        )
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{name}: {value} is negative; use a number of bytes >= 0")
        if value >= 2**64:
            raise ConfigError(f"{name}: {value} is too large; use a number of bytes below 2**64")
        return value
    return _sandbox.parse_size(name, value.strip())


def _output_limit(value: Optional[Union[int, str]]) -> Optional[int]:
    if value is None:
        return int(_sandbox.DEFAULT_OUTPUT_LIMIT)
    if value == "unlimited":
        return None
    return to_size("output_limit", value)


#: Seconds beyond which a timeout is no timeout (the engine's longest
#: duration, some 584 billion years).
_TIMEOUT_MAX = float(2**64)


def _timeout(value: Optional[float]) -> Optional[float]:
    """Seconds, or None (no limit) for None, ``math.inf`` or a time too
    long to represent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"timeout: {value!r} is not a positive number of seconds; use e.g. 2 or 0.5")
    if math.isinf(value) or value >= _TIMEOUT_MAX:
        return None
    return float(value)


_USER = re.compile(r"(\d+)(?::(\d+))?", re.ASCII)


def _user(value: Union[int, str, Tuple[int, int]]) -> Tuple[int, int]:
    """``1000``, ``"1000:100"`` or ``(1000, 100)``; the gid defaults to the uid
    as with the CLI's ``-u``."""
    if isinstance(value, tuple) and len(value) == 2 and all(_is_id(v) for v in value):
        return value[0], value[1]
    if _is_id(value):
        assert isinstance(value, int)
        return value, value
    match = _USER.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"user: {value!r} is not UID[:GID]; write e.g. 1000, \"1000:100\" or (1000, 100)"
        )
    uid = int(match.group(1))
    gid = int(match.group(2)) if match.group(2) is not None else uid
    if not (_is_id(uid) and _is_id(gid)):
        raise ConfigError(f"user: {value!r} is out of range; ids go from 0 to 4294967294")
    return uid, gid


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32 - 1


def _mount(index: int, value: Union[Bind, Tmpfs, str]) -> Union[Bind, Tmpfs]:
    """Checked field by field, so the message names the mount."""
    where = f"mounts[{index}]"
    if isinstance(value, Bind):
        return Bind(
            _required_path(f"{where} source", value.source),
            _required_path(f"{where} target", value.target),
            readonly=_bool(f"{where} readonly", value.readonly),
        )
    if isinstance(value, Tmpfs):
        mode = value.mode
        if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777):
            raise ConfigError(f"{where} mode: {mode!r} is not a permission mode; use e.g. 0o1777")
        size = None if value.size is None else to_size(f"{where} size", value.size)
        return Tmpfs(_required_path(f"{where} target", value.target), size, mode)
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) in (2, 3) and all(parts[:2]) and (len(parts) == 2 or parts[2] in ("ro", "rw")):
            return Bind(parts[0], parts[1], readonly=len(parts) == 3 and parts[2] == "ro")
    raise ConfigError(
        f"mounts[{index}]: {value!r} is not a mount; use \"SRC:DST[:ro]\", "
        "sandbox.Bind(src, dst) or sandbox.Tmpfs(dst)"
    )


def _choice(name: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{name}: {value!r} is not one of {names}")
    assert isinstance(value, str)
    return value


def _required_path(name: str, value: object) -> str:
    path = _path(name, value)  # type: ignore[arg-type]
    if path is None:
        raise ConfigError(f"{name}: None is not a path; give a str or os.PathLike")
    return path


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: {value!r} is not True or False")
    return value


def _path(name: str, value: Optional[Union[str, "os.PathLike[str]"]]) -> Optional[str]:
    if value is None:
        return None
    try:
        path = os.fspath(value)
    except TypeError:
        raise ConfigError(f"{name}: {value!r} is not a path; give a str or os.PathLike") from None
    if isinstance(path, bytes):
        return os.fsdecode(path)
    return path


def _strings(name: str, value: object) -> List[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ConfigError(f"{name}: {value!r} is not a list of names; write e.g. [\"net\"]")
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(f"{name}: {item!r} is not a name (a str)")
    return sorted(value) if isinstance(value, (set, frozenset)) else list(value)


def env_pairs(value: Optional[Mapping[Any, Any]]) -> List[Tuple[bytes, bytes]]:
    """The environment as bytes pairs; str is encoded as ``os.fsencode`` does."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise ConfigError(f"env: {type(value).__name__} is not a mapping; give a dict like {{\"LANG\": \"C\"}}")
    pairs = []
    for key, val in value.items():
        if not isinstance(key, (str, bytes)) or not isinstance(val, (str, bytes)):
            raise ConfigError(f"env: {key!r}={val!r} is not str or bytes")
        k, v = os.fsencode(key), os.fsencode(val)
        if not k or b"=" in k or b"\0" in k:
            raise ConfigError(f"env: {key!r} is not a variable name (empty, or has '=' or NUL)")
        if b"\0" in v:
            raise ConfigError(f"env: the value of {key!r} contains a NUL byte, which an environment cannot hold")
        pairs.append((k, v))
    return pairs


def compile_options(options: Mapping[str, Any]) -> _sandbox.Sandbox:
    """Checks every keyword and builds the engine's validated sandbox."""
    uid, gid = _user(options.get("user", 0))
    return _sandbox.Sandbox(
        rootfs=_path("rootfs", options.get("rootfs")),
        read_only=_bool("read_only", options.get("read_only", False)),
        mounts=[_mount(i, m) for i, m in enumerate(_mounts_list(options.get("mounts", ())))],
        cwd=_path("cwd", options.get("cwd")),
        hostname=_hostname(options.get("hostname", "sandbox")),
        network=_choice("network", options.get("network", "none"), ("none", "host")),
        timeout=_timeout(options.get("timeout")),
        output_limit=_output_limit(options.get("output_limit")),
        uid=uid,
        gid=gid,
        id_mapping=_choice(
            "id_mapping", options.get("id_mapping", "auto"), ("auto", "subordinate", "host-root")
        ),
        share=[
            _choice("share", ns, ("mount", "pid", "ipc", "uts", "net", "cgroup"))
            for ns in _strings("share", options.get("share", ()))
        ],
        cap_add=_strings("cap_add", options.get("cap_add", ())),
        nested_userns=_bool("nested_userns", options.get("nested_userns", False)),
        limits=_limits(options),
    )


def _limits(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The resource limits, type-checked here; their ranges (at least 1 MiB
    of memory, a weight from 1 to 10000, ...) are the engine's to check."""

    def opt(name: str, check: Any) -> Any:
        value = options.get(name)
        return None if value is None else check(name, value)

    return {
        "memory": opt("memory", to_size),
        "pids": opt("pids", _count),
        "cpus": opt("cpus", _number),
        "cpu_weight": opt("cpu_weight", _count),
        "cpu_time": opt("cpu_time", _seconds),
        "nofile": opt("nofile", _count),
        "fsize": opt("fsize", to_size),
        "strict": _bool("strict_limits", options.get("strict_limits", False)),
        "cgroup_parent": _path("cgroup_parent", options.get("cgroup_parent")),
    }


def _count(name: str, value: object) -> int:
    """A whole number from 0 to 2**64-1 (the engine's range checks follow)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}: {value!r} is not a whole number; give an int, e.g. 64")
    if not 0 <= value < 2**64:
        raise ConfigError(f"{name}: {value} is out of range; give a whole number from 0 to 2**64-1")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}: {value!r} is not a number; give e.g. 0.5 or 2")
    return float(value)


def _seconds(name: str, value: object) -> float:
    """Seconds >= 0 that a duration can hold (0 is the engine's to refuse)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < _TIMEOUT_MAX:
        raise ConfigError(f"{name}: {value!r} is not a number of seconds >= 0; use e.g. 1 or 2.5")
    return float(value)


def _mounts_list(value: object) -> Sequence[Any]:
    if isinstance(value, (str, bytes, Bind, Tmpfs)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"mounts: {value!r} is not a list of mounts; write e.g. [\"/data:/data:ro\"]")
    return value


def _hostname(value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"hostname: {value!r} is not a str")
    return value


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """``base`` with ``overrides`` on top; ``env`` is merged key by key
    (``env=None`` adds nothing)."""
    out = dict(base)
    for key, value in overrides.items():
        if key == "env" and value is None:
            continue
        if key == "env" and isinstance(value, Mapping) and isinstance(out.get("env"), Mapping):
            out["env"] = {**out["env"], **value}
        else:
            out[key] = value
    return out
