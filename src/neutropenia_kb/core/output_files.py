"""Writing output files safely: never over an input, never half a file, never through a symlink.

Every output goes to a temporary file in the target's folder and is renamed into place only when
complete (os.replace is atomic within a folder): a failed or interrupted run leaves the old file,
or none, and a symlink standing at the target is replaced, not written through.
"""

from __future__ import annotations

import os
import stat
import tempfile
import unicodedata
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, ContextManager, Iterable, Iterator, TextIO, cast

from neutropenia_kb.core.problems import UsageError, show_value


def _shown(path: Path) -> str:
    return show_value(str(path), 200)


def same_file(a: Path, b: Path) -> bool:
    """One file under two names: the same path, a hard link (same inode) or a symlink to it."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them does not exist (or the name holds a NUL)
        return False


def check_target(target: Path, inputs: Iterable[Path] = (), make_folder: bool = False) -> None:
    """UsageError (before anything is written) when ``target`` is one of ``inputs``, is a
    folder, or its folder is missing (created when ``make_folder``) or is not a folder."""
    for source in inputs:
        if same_file(target, source):
            raise UsageError(f"'{_shown(target)}' is the input '{_shown(source)}': writing "
                             "there would destroy it; give another output name")
    if target.is_dir():
        raise UsageError(f"'{_shown(target)}' is a folder; give a file name to write")
    folder = target.parent
    if folder.is_dir():
        return
    if folder.exists() or folder.is_symlink():
        raise UsageError(f"cannot write '{_shown(target)}': '{_shown(folder)}' is not a folder")
    if not make_folder:
        raise UsageError(f"cannot write '{_shown(target)}': the folder '{_shown(folder)}' "
                         "does not exist; create it first or choose another output")
    make_dir(folder)


def make_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder '{_shown(folder)}': "
                         f"{exc.strerror or exc}") from None


def _mode(target: Path) -> int:
    """An existing file's permissions are kept (patient results may be private); a new file gets
    what the umask allows, as open() would give it."""
    try:
        info = os.stat(target, follow_symlinks=False)
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_output(target: Path) -> ContextManager[TextIO]:
    """A text file (UTF-8, line endings as written) that replaces ``target`` when complete."""
    return cast("ContextManager[TextIO]", _atomic(target, binary=False))


def _temp_beside(target: Path) -> tuple[int, str]:
    """A new empty file in ``target``'s folder (its descriptor, its name)."""
    try:
        return tempfile.mkstemp(prefix=f".{target.name[:64]}.", suffix=".part",
                                dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write in '{_shown(target.parent)}': "
                         f"{exc.strerror or exc}") from None


@contextmanager
def _placed(temp: str, target: Path) -> Iterator[None]:
    """``temp`` renamed onto ``target`` (with the old file's permissions) when the block ends
    without an exception, removed otherwise. OSErrors become UsageErrors."""
    try:
        yield
        os.chmod(temp, _mode(target))
        os.replace(temp, target)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise UsageError(f"'{_shown(target)}' was not written: "
                             f"{exc.strerror or exc}") from None
        raise


@contextmanager
def _atomic(target: Path, binary: bool) -> Iterator[IO[Any]]:
    """A file to write ``target``'s content into; it replaces ``target`` only when the block
    ends without an exception, and is removed otherwise. OSErrors become UsageErrors."""
    fd, temp = _temp_beside(target)
    with _placed(temp, target):
        with os.fdopen(fd, "wb") if binary else \
                os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())  # the rename must not land before the content does


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A new empty file in ``target``'s folder for a writer that takes a path (DuckDB's COPY,
    Spark's part file): it replaces ``target`` only when the block ends without an exception
    (synced first, with the old file's permissions), and is removed otherwise."""
    fd, temp = _temp_beside(target)
    os.close(fd)
    with _placed(temp, target):
        yield Path(temp)
        with open(temp, "rb") as written:
            os.fsync(written.fileno())  # the rename must not land before the content does


def write_bytes(target: Path, data: bytes) -> None:
    with _atomic(target, binary=True) as out:
        out.write(data)


def write_text(target: Path, text: str) -> None:
    with atomic_output(target) as out:
        out.write(text)


MAX_NAME_BYTES = 200  # file systems allow 255; room is left for the extension and temp names


def file_stem(text: str) -> str:
    """A file name made from a row's id, one to one: letters, digits, '-', '_' and inner dots
    stay, any other character is written %XX (as in URLs), so 'a/b' and 'a-b' stay apart and no
    name can climb out of its folder ('..', '/') or hide itself (a leading dot)."""
    out = []
    for i, char in enumerate(text):
        if (char.isalnum() and char.isprintable()) or char in "-_" or (char == "." and i > 0):
            out.append(char)
        else:
            out.append("".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass")))
    return "".join(out)


def clash_key(name: str) -> str:
    """Names that one file system or another takes for the same file (case, Unicode form)."""
    return unicodedata.normalize("NFC", name).casefold()
