# The compiled half of the Python door (python/src/*.rs). Checked against
# the built module by `python -m mypy.stubtest sandbox._sandbox`.
from os import PathLike
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union, final

from sandbox._options import Bind, Tmpfs

__all__ = ["Sandbox", "Child", "Outcome", "parse_size", "check_json", "DEFAULT_OUTPUT_LIMIT"]

DEFAULT_OUTPUT_LIMIT: int

def parse_size(field: str, text: str) -> int: ...
def check_json() -> str: ...

@final
class Outcome:
    @property
    def exit_code(self) -> Optional[int]: ...
    @property
    def signal(self) -> Optional[int]: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def wall_time(self) -> float: ...
    @property
    def user_time(self) -> float: ...
    @property
    def system_time(self) -> float: ...
    @property
    def peak_rss_bytes(self) -> int: ...
    @property
    def oom_killed(self) -> bool: ...
    @property
    def cpu_time_exceeded(self) -> bool: ...
    @property
    def memory_peak_bytes(self) -> Optional[int]: ...
    @property
    def pids_peak(self) -> Optional[int]: ...
    @property
    def limits(self) -> Dict[str, str]: ...

@final
class Child:
    @property
    def pid(self) -> int: ...
    def take_pipes(self) -> Tuple[Optional[int], Optional[int], Optional[int]]: ...
    def wait(self, timeout: Optional[float] = None) -> Optional[Outcome]: ...
    def poll(self) -> Optional[Outcome]: ...
    def kill(self) -> None: ...
    def send_signal(self, signal: int) -> None: ...

@final
class Sandbox:
    def __new__(
        cls,
        *,
        rootfs: Optional[Union[str, PathLike[str]]],
        read_only: bool,
        mounts: Sequence[Union[Bind, Tmpfs]],
        cwd: Optional[Union[str, PathLike[str]]],
        hostname: str,
        network: str,
        timeout: Optional[float],
        output_limit: Optional[int],
        uid: int,
        gid: int,
        id_mapping: str,
        share: Sequence[str],
        cap_add: Sequence[str],
        nested_userns: bool,
        # memory, pids, cpus, cpu_weight, cpu_time (seconds), nofile, fsize,
        # strict, cgroup_parent: sizes in bytes, None for no limit. All
        # nine keys are required; None: no limits at all.
        limits: Optional[Mapping[str, object]] = None,
    ) -> Sandbox: ...
    def config_json(self) -> str: ...
    def spawn(
        self,
        argv: Sequence[bytes],
        env: Sequence[Tuple[bytes, bytes]],
        stdin: Optional[int],
        stdout: Optional[int],
        stderr: Optional[int],
    ) -> Child: ...
