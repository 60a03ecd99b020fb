# The compiled half of the Python door (python/src/*.rs). Checked against
# the built module by `python -m mypy.stubtest sandbox._sandbox`.
from os import PathLike
from typing import Optional, Sequence, Tuple, Union, final

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
