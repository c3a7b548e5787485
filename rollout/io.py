"""Atomic, deterministic reading and writing of the plain files every command produces.

Three promises rest here.

Nothing half-written. Every file is written under a temporary name beside its destination and
renamed into place, and a folder of results is assembled in a temporary sibling folder and
renamed as a whole. Outputs that belong together (a cohort and its attrition table, an
assignment with its report and lists, a design with its figures) land as a set
(:func:`output_set`): each is staged beside its destination, the primary file is renamed last
so that its presence means the set is complete, and on any failure, an interrupt included,
every file already moved is put back and every temporary file removed. Two runs writing the
same output cannot interleave: a set holds a lock file beside its primary output while it
commits.

Same inputs, same bytes. JSON is written with sorted keys and a fixed float rendering, parquet
without timestamps or library-dependent metadata that would change between runs.

Errors of the operating system are input errors. A folder that cannot be written, a file where a
folder is expected, a full disk: :func:`os_error` turns each into an :class:`InputError` naming
the file, what went wrong and what to do, and :func:`check_writable` /
:func:`check_output_folder` find them before the work starts. Text inputs are UTF-8
(:func:`read_text`); anything else is refused with a message saying so.

numpy, pandas and pyarrow are imported only by the functions that need them, so that the
command line can start without them.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import errno
import gzip
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

try:  # POSIX advisory locks; elsewhere an exclusive-create lock file alone
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

ROLES_METADATA_KEY = b"rollout.roles"

#: The ``schema`` key of the ``summary.json`` each folder-writing command leaves in its output
#: folder, by command: how a folder is recognised as a previous output of the same command.
OUTPUT_SCHEMAS: dict[str, str] = {
    "analyze": "rollout.results/",
    "evaluate": "rollout.evaluation/",
    "simulate": "rollout.simulation/",
}


# --- errors of the operating system -------------------------------------------------------


def _reason(exc: OSError, action: str) -> tuple[str, str]:
    """What went wrong and what to do, in words, for an OSError met while ``action``-ing."""
    code = exc.errno
    if code is None:  # Arrow's IOError carries the errno only in its text
        found = re.search(r"\[Errno (\d+)\]", str(exc))
        code = int(found.group(1)) if found else (
            errno.ENOSPC if "No space left" in str(exc) else None)
    writing = action != "read"
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return ("permission denied",
                "choose a location you can write to, or change its permissions" if writing
                else "check that you may read it (its permissions)")
    if isinstance(exc, IsADirectoryError) or code == errno.EISDIR:
        return ("this is a folder, not a file",
                "give a file name (for example inside this folder)" if writing
                else "give the file inside the folder")
    if isinstance(exc, NotADirectoryError) or code == errno.ENOTDIR:
        return ("part of the path is a file, not a folder",
                "choose a path whose parent folders are folders")
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return (("its folder does not exist or was removed", "check the path")
                if writing else ("file does not exist", "check the path"))
    if isinstance(exc, FileExistsError) or code == errno.EEXIST:
        return ("something is already in the way", "remove it or choose another name")
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return ("no space left on the device", "free some space or write elsewhere")
    if code == errno.EROFS:
        return ("the file system is read-only", "write elsewhere")
    if code == errno.ENAMETOOLONG:
        return ("the name is too long", "choose a shorter name")
    return (exc.strerror or str(exc) or type(exc).__name__, "check the path and try again")


def os_error(exc: OSError, path: str | Path | None = None, action: str = "write") -> InputError:
    """The :class:`InputError` for an operating-system error on ``path`` (the one place).

    ``action`` is ``"read"`` or ``"write"``; a failed write says that nothing was written
    (outputs are staged and rolled back).

    >>> error = os_error(PermissionError(13, "Permission denied"), "out/x.json")
    >>> print(error)  # doctest: +ELLIPSIS
    out/x.json: cannot write: permission denied; choose a location you can write to, ...
    >>> os_error(OSError(28, "No space left on device"), "big.parquet").message[:40]
    'cannot write: no space left on the devic'
    """
    what, todo = _reason(exc, action)
    file = path if path is not None else (exc.filename if exc.filename else None)
    if file is not None:
        file = _shown(file)
    tail = " (nothing was written)" if action != "read" else ""
    return InputError(f"cannot {action}: {what}; {todo}{tail}", file=file)


def _shown(path: str | Path) -> str:
    """A path as the user would recognise it: relative to the current folder when inside it."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive
        return text
    return text if relative.startswith("..") else relative


# --- text inputs --------------------------------------------------------------------------

_NOT_UTF8 = ("is not UTF-8 text{detail}; save it as UTF-8 (in a spreadsheet: "
             "'CSV UTF-8'; in an editor: encoding UTF-8)")


def decode_utf8(data: bytes, path: str | Path | None = None) -> str:
    """Text of a file's bytes: UTF-8 with or without a byte-order mark, nothing else.

    >>> decode_utf8(b"\\xef\\xbb\\xbfa,b\\n")
    'a,b\\n'
    >>> decode_utf8(b"caf\\xe9\\n", "s.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: s.toml: is not UTF-8 text (byte 0xe9 on line 1...
    """
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError(_NOT_UTF8.format(detail=" (it is UTF-32)"), file=path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(_NOT_UTF8.format(detail=" (it is UTF-16)"), file=path)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if b"\x00" in data[:4096]:
        raise InputError(_NOT_UTF8.format(detail=" (it holds NUL bytes: UTF-16 or binary)"),
                         file=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(_NOT_UTF8.format(
            detail=f" (byte 0x{data[exc.start]:02x} on line {line}; perhaps Windows-1252 or "
                   "Latin-1)"), file=path) from None


def read_text(path: str | Path) -> str:
    """Read a text input (JSON, TOML, CSV) as UTF-8; :class:`InputError` for anything else."""
    path = Path(path)
    if path.is_dir():
        raise InputError("expected a file, got a folder", file=path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise os_error(exc, path, "read") from exc
    return decode_utf8(data, path)


def check_utf8_file(path: str | Path, chunk: int = 1 << 20) -> None:
    """Refuse a text file that is not UTF-8, reading it in chunks (large CSVs stay cheap)."""
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with opener(path, "rb") as handle:
            block = handle.read(chunk)
            head = block[:4096]
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
                decode_utf8(head, path)  # raises, naming UTF-16 / NUL bytes
            while block:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    line += block[: exc.start].count(b"\n")
                    bad = block[exc.start] if exc.start < len(block) else 0
                    raise InputError(_NOT_UTF8.format(
                        detail=f" (byte 0x{bad:02x} on line {line}; perhaps Windows-1252 or "
                               "Latin-1)"), file=path) from None
                line += block.count(b"\n")
                block = handle.read(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InputError(_NOT_UTF8.format(detail=" (it ends inside a character)"),
                         file=path) from None
    except OSError as exc:
        if exc.errno is not None:
            raise os_error(exc, path, "read") from exc
        raise InputError(f"cannot be read: {exc}", file=path) from exc
    except EOFError as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from exc


# --- JSON and parquet ---------------------------------------------------------------------


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _publish_mode(path: Path, directory: bool = False) -> None:
    """Give a temporary file or folder the permissions a normal one would have.

    ``mkstemp``/``mkdtemp`` create private (0600/0700) entries; results are meant to be opened
    by anyone the user's umask allows, like any file the user writes.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers into plain JSON types (NaN becomes null)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, Path):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def to_json_text(document: Any) -> str:
    """Render a document as deterministic JSON text (sorted keys, NaN as null, trailing newline).

    >>> to_json_text({"b": 1, "a": float("nan")})
    '{\\n  "a": null,\\n  "b": 1\\n}\\n'
    """
    return json.dumps(_jsonable(document), indent=2, sort_keys=True, allow_nan=False) + "\n"


# --- output sets --------------------------------------------------------------------------


class _OutputSet:
    """Files and folders staged beside their destinations, committed together.

    ``primary`` (when given) is committed last, after any previous version of it has been moved
    aside, so that while the primary output exists, every other output of its set does too.
    """

    def __init__(self, primary: Path | None) -> None:
        self.primary = primary
        self.entries: list[tuple[Path, Path, bool]] = []  # (staged, destination, is_folder)
        self.staging_dirs: list[Path] = []  # staged folders: writes under them go direct
        self.scratch: list[Path] = []  # temporary folders to remove whatever happens
        self.created: list[Path] = []  # parent folders this set made, to remove on failure
        self.locks: list[tuple[Path, int]] = []

    # staging
    def covers(self, path: Path) -> bool:
        """Whether ``path`` lies inside a folder this set is assembling (written directly)."""
        path = Path(os.path.abspath(path))
        return any(path == d or d in path.parents for d in self.staging_dirs)

    def make_parents(self, path: Path) -> None:
        missing = []
        parent = Path(os.path.abspath(path)).parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))
        for folder in reversed(missing):
            folder.mkdir()
            self.created.append(folder)

    def destination_of(self, staged: str | Path | None) -> Path | None:
        """The output a temporary file or folder of this set stands for (None: not an output)."""
        if staged is None:
            return None
        staged = Path(os.path.abspath(staged))
        for tmp, dest, _ in self.entries:
            if staged in (tmp, dest):
                return dest
            if tmp in staged.parents:  # a file inside a folder being assembled
                return dest / staged.relative_to(tmp)
        for folder in self.scratch:  # files being made for the folder the scratch sits in
            if staged == folder or folder in staged.parents:
                return folder.parent
        return None

    def stage_file(self, dest: Path) -> Path:
        self.make_parents(dest)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        staged = Path(os.path.abspath(tmp))
        self.entries.append((staged, Path(os.path.abspath(dest)), False))
        return staged

    def stage_folder(self, dest: Path) -> Path:
        self.make_parents(dest)
        tmp = Path(os.path.abspath(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp",
                                                    dir=dest.parent)))
        self.entries.append((tmp, Path(os.path.abspath(dest)), True))
        self.staging_dirs.append(tmp)
        return tmp

    def scratch_folder(self, near: Path) -> Path:
        """A temporary folder on the same file system as ``near`` (for files staged by others)."""
        near = Path(os.path.abspath(near))
        self.make_parents(near / "x")
        if not near.exists():
            near.mkdir()
            self.created.append(near)
        tmp = Path(tempfile.mkdtemp(prefix=".rollout-staging.", suffix=".tmp", dir=near))
        self.scratch.append(tmp)
        self.staging_dirs.append(tmp)
        return tmp

    def add(self, staged: Path, dest: Path) -> None:
        """Commit an already written file ``staged`` (same file system) to ``dest`` with the set."""
        self.entries.append((Path(os.path.abspath(staged)), Path(os.path.abspath(dest)),
                             Path(staged).is_dir()))

    def discard(self, staged: Path) -> None:
        self.entries = [e for e in self.entries if e[0] != Path(os.path.abspath(staged))]
        _remove(staged)

    # locking
    def lock(self, dest: Path) -> None:
        self.make_parents(dest)
        lock = dest.parent / f".{dest.name}.lock"
        while True:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | (0 if fcntl else os.O_EXCL), 0o644)
            except FileExistsError:
                raise InputError(f"another run is writing this output (lock file {lock.name}); "
                                 "wait for it to finish, or delete the lock file if none is",
                                 file=dest) from None
            if fcntl is None:
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InputError("another run is writing this output right now; wait for it "
                                 "to finish", file=dest) from None
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the file was removed by the run that held it: lock the new one
        self.locks.append((lock, fd))

    def unlock(self) -> None:
        for lock, fd in reversed(self.locks):
            with contextlib.suppress(OSError):
                os.unlink(lock)
            with contextlib.suppress(OSError):
                os.close(fd)
        self.locks = []

    # committing
    def commit(self) -> None:
        primary = Path(os.path.abspath(self.primary)) if self.primary is not None else None
        if primary is not None and all(dest != primary for _, dest, _ in self.entries):
            primary = None  # nothing new for it: leave it where it is
        order = [e for e in self.entries if e[1] != primary] + \
                [e for e in self.entries if e[1] == primary]
        moved: list[tuple[Path, Path | None]] = []  # (destination, backup of what was there)
        aside: Path | None = None
        try:
            if primary is not None and os.path.lexists(primary):
                aside = _backup_name(primary)
                os.replace(primary, aside)
            for staged, dest, is_folder in order:
                _publish_mode(staged, directory=is_folder)
                backup = None
                if dest == primary:
                    backup = aside
                elif os.path.lexists(dest):
                    if dest.is_dir() and not is_folder:
                        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(dest))
                    backup = _backup_name(dest)
                    os.replace(dest, backup)
                try:
                    os.replace(staged, dest)
                except BaseException:
                    if backup is not None and dest != primary:
                        os.replace(backup, dest)
                    raise
                moved.append((dest, backup))
        except BaseException:
            for dest, backup in reversed(moved):
                with contextlib.suppress(OSError):
                    _remove(dest)
                    if backup is not None and backup != aside:
                        os.replace(backup, dest)
            if aside is not None:
                with contextlib.suppress(OSError):
                    if os.path.lexists(primary):
                        _remove(primary)
                    os.replace(aside, primary)
            raise
        for _, backup in moved:
            if backup is not None:
                _remove(backup)

    def cleanup(self, failed: bool) -> None:
        for staged, _, _ in self.entries:
            if os.path.lexists(staged):
                _remove(staged)
        for folder in self.scratch:
            _remove(folder)
        self.unlock()
        if failed:
            for folder in reversed(self.created):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _backup_name(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent)
    os.close(fd)
    os.unlink(name)
    return Path(name)


def _remove(path: str | Path) -> None:
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


_ACTIVE: contextvars.ContextVar[_OutputSet | None] = contextvars.ContextVar(
    "rollout_output_set", default=None)


@contextlib.contextmanager
def output_set(primary: str | Path | None = None) -> Iterator[_OutputSet]:
    """Write several outputs as one set: all of them, or none (what was there stays).

    Inside the block every file written with this module's writers (and every folder of
    :func:`atomic_directory`) is staged beside its destination; on leaving the block the
    others are renamed into place and ``primary`` last. If the block or a rename fails, or the
    user interrupts, files already moved are put back, staged files are removed, folders this
    set created are removed, and operating-system errors become :class:`InputError`. A lock file
    beside ``primary`` (held while the block runs) keeps two runs from interleaving. Inside an
    enclosing set, the block joins it.
    """
    active = _ACTIVE.get()
    if active is not None and (primary is None or not active.covers(Path(primary))):
        if active.primary is None and primary is not None:
            try:
                active.lock(Path(primary))
            except OSError as exc:
                raise os_error(exc, primary, "write") from exc
            active.primary = Path(primary)
        yield active
        return
    current = _OutputSet(Path(primary) if primary is not None else None)
    token = _ACTIVE.set(current)
    failed = True
    try:
        try:
            if primary is not None:
                try:
                    current.lock(Path(primary))
                except OSError as exc:
                    raise os_error(exc, primary, "write") from exc
            yield current
            _ACTIVE.reset(token)
            token = None
            current.commit()
            failed = False
        except OSError as exc:
            dest = current.destination_of(exc.filename)
            if dest is None and exc.filename:  # not an output: an input read inside the block
                raise os_error(exc, exc.filename, "read") from exc
            raise os_error(exc, dest or primary, "write") from exc
    finally:
        if token is not None:
            _ACTIVE.reset(token)
        current.cleanup(failed)


@contextlib.contextmanager
def _temporary_sibling(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary file beside ``path``, renamed onto it on success (or staged in a set)."""
    active = _ACTIVE.get()
    if active is not None and not active.covers(path):
        try:
            staged = active.stage_file(path)
        except OSError as exc:
            raise os_error(exc, path, "write") from exc
        try:
            yield staged
        except OSError as exc:
            active.discard(staged)
            raise os_error(exc, path, "write") from exc
        except BaseException:
            active.discard(staged)
            raise
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp",
                                   dir=path.parent)
    except OSError as exc:
        raise os_error(exc, path, "write") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _publish_mode(tmp_path)
        os.replace(tmp_path, path)
    except OSError as exc:
        shown = active.destination_of(path) if active is not None else None
        raise os_error(exc, shown or path, "write") from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, document: Any) -> Path:
    """Write a JSON document atomically; returns the path written."""
    path = Path(path)
    text = to_json_text(document)
    with _temporary_sibling(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically; returns the path written."""
    path = Path(path)
    with _temporary_sibling(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes (a PNG, say) atomically; returns the path written."""
    path = Path(path)
    with _temporary_sibling(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_parquet(
    path: str | Path,
    frame: pd.DataFrame,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a table as parquet atomically and byte-reproducibly.

    ``metadata`` (a JSON-able mapping) is stored under the schema key ``rollout.roles`` so that a
    cohort remembers which columns are outcomes, covariates and so on. pandas' own schema metadata
    is dropped: it is not needed to read the file back and it records library versions.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    schema_meta: dict[bytes, bytes] = {}
    if metadata is not None:
        schema_meta[ROLES_METADATA_KEY] = to_json_text(metadata).encode("utf-8")
    table = table.replace_schema_metadata(schema_meta or None)
    with _temporary_sibling(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    return path


#: Rows per row group of a streamed parquet file (:func:`parquet_stream`).
STREAM_ROW_GROUP = 1 << 18


class _RowGroups:
    """Buffers tables and writes them in row groups of exactly ``rows`` rows (the last shorter),
    so the bytes of the file do not depend on how the caller happened to batch its rows."""

    def __init__(self, writer: Any, schema: Any, rows: int) -> None:
        self.writer, self.schema, self.rows = writer, schema, rows
        self.pending: list[Any] = []
        self.n_pending = 0

    def write(self, table: Any) -> None:
        import pyarrow as pa

        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        table = table.select(self.schema.names).cast(self.schema)
        self.pending.append(table)
        self.n_pending += table.num_rows
        while self.n_pending >= self.rows:
            self._flush(self.rows)

    def _flush(self, rows: int) -> None:
        import pyarrow as pa

        whole = pa.concat_tables(self.pending)
        self.writer.write_table(whole.slice(0, rows), row_group_size=rows)
        rest = whole.slice(rows)
        self.pending, self.n_pending = ([rest] if rest.num_rows else []), rest.num_rows

    def close(self) -> None:
        if self.n_pending:
            self._flush(self.n_pending)


@contextlib.contextmanager
def parquet_stream(path: str | Path, schema: Any,
                   row_group: int = STREAM_ROW_GROUP) -> Iterator[Any]:
    """Write a parquet file batch by batch, atomically and byte-reproducibly.

    For tables too long to hold whole: the block receives an object whose ``write(table)``
    appends an Arrow table or record batch (cast to ``schema``, whose metadata is dropped).
    Rows are written in groups of exactly ``row_group`` rows whatever the batches were, so the
    same rows give the same bytes whether they came from one process or from a cluster's
    partitions; the file appears under its name only when the block completes.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    schema = schema.remove_metadata()
    with _temporary_sibling(path) as tmp:
        writer = pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True)
        try:
            groups = _RowGroups(writer, schema, row_group)
            yield groups
            groups.close()
        finally:
            writer.close()


def write_csv(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a table as CSV atomically and byte-reproducibly (columnar, fast for large lists).

    Header first, one row per line, text quoted, numbers as written by Arrow; categorical
    columns are written as their values.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    path = Path(path)
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
               for c in table.columns]
    table = pa.table(columns, names=table.column_names)
    with _temporary_sibling(path) as tmp:
        pa_csv.write_csv(table, tmp)
    return path


def read_parquet_metadata(path: str | Path) -> dict[str, Any] | None:
    """The ``rollout.roles`` document stored in a parquet file, or None when absent."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(ROLES_METADATA_KEY)
    return json.loads(raw.decode("utf-8")) if raw else None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a user's table from parquet or CSV (UTF-8), with a clear error for a bad file."""
    import pandas as pd
    import pyarrow as pa

    path = Path(path)
    if not path.exists():
        raise InputError("file does not exist", file=path)
    if path.is_dir():
        raise InputError("expected a file (parquet or CSV), got a folder", file=path)
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if suffix in {".csv", ".txt"} or path.name.lower().endswith(".csv.gz"):
            check_utf8_file(path)
            return pd.read_csv(path, encoding="utf-8-sig")
    except OSError as exc:
        if exc.errno is not None:
            raise os_error(exc, path, "read") from exc
        raise InputError(f"cannot be read: {exc}", file=path) from exc
    except (ValueError, pa.ArrowException) as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from exc
    raise InputError("unknown file type; use .parquet or .csv", file=path)


# --- output locations ---------------------------------------------------------------------


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: the only sure test that it can be written."""
    fd, name = tempfile.mkstemp(prefix=".rollout-probe.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.unlink(name)


def check_writable(path: str | Path, folder: bool = False, inside: bool = False) -> None:
    """Refuse, before any work, an output that cannot be written where it is asked for.

    ``path`` is a file to write (``folder=False``) or a folder to write (``folder=True``): one
    replaced whole, or with ``inside`` one that files are written into (figures, lists). Its
    nearest existing parent (or, with ``inside``, the folder itself) must be a folder this
    process can create files in; an existing ``path`` must be of the right kind. Nothing is left
    behind.
    """
    path = Path(path)
    if os.path.lexists(path):
        if folder and not path.is_dir():
            raise InputError("the output exists and is a file, not a folder; choose another "
                             "name or remove it", file=path)
        if not folder and path.is_dir():
            raise InputError("the output is a folder; give a file name", file=path)
    parent = Path(os.path.abspath(path))
    if not (inside and parent.is_dir()):
        parent = parent.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError("cannot write here: part of the path is a file, not a folder; choose "
                         "a path whose parent folders are folders", file=_shown(parent))
    try:
        _probe(parent)
    except OSError as exc:
        raise os_error(exc, path, "write") from exc


def output_kind(folder: str | Path) -> str | None:
    """The command whose output ``folder`` is (by its ``summary.json`` schema key), or None."""
    folder = Path(folder)
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            document = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = None
        if isinstance(document, dict):
            schema = str(document.get("schema") or "")
            for command, prefix in OUTPUT_SCHEMAS.items():
                if schema.startswith(prefix):
                    return command
            if {"scenario", "seed", "world"} <= set(document):  # written before the schema key
                return "simulate"
    if (folder / "demo.json").is_file() and (folder / "report.html").is_file():
        return "demo"
    return None


def check_output_folder(path: str | Path, command: str,
                        inputs: Iterable[str | Path | None] = (), force: bool = False) -> None:
    """Refuse, before any work, an output folder the command must not replace.

    An output folder is replaced whole. That is allowed when it does not exist, is empty, or is
    a previous output of the same ``command``; any other folder needs ``force``. A folder that
    holds an input of the run, the current folder or one holding it, a home folder or a
    top-level folder is never replaced, ``force`` or not.
    """
    path = Path(path)
    check_writable(path, folder=True)
    if not path.exists():
        return
    target = path.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise InputError("the output folder is the current folder (or holds it); it would be "
                         "replaced whole; choose a new folder", file=path)
    home = Path.home().resolve()
    if target == home or target in home.parents or target.parent == target:
        raise InputError("the output folder is a home or top-level folder; it would be "
                         "replaced whole; choose a new folder", file=path)
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if source == target or target in source.parents:
            raise InputError(f"the output folder holds an input of this run ({given}); "
                             "replacing it would delete that input; choose another output "
                             "folder", file=path)
    if force or not any(path.iterdir()):
        return
    kind = output_kind(path)
    if kind != command:
        found = f"a previous output of `rollout {kind}`" if kind else \
            f"not a previous output of `rollout {command}`"
        raise InputError(f"the output folder exists and is {found}; it would be replaced "
                         "whole; choose another folder, or replace it with force",
                         file=path, argument="force")


@contextlib.contextmanager
def atomic_directory(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Build an output folder under a temporary name and move it into place only on success.

    Yields the temporary folder to write into. If the block raises, the temporary folder is
    removed and any existing folder at ``path`` is left exactly as it was. Inside an
    :func:`output_set` the folder is committed with the set.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("output path exists and is not a folder", file=path)
    if path.exists() and not overwrite:
        raise InputError("output folder exists; choose another or allow overwrite", file=path)
    with output_set(path) as outputs:
        try:
            tmp = outputs.stage_folder(path)
        except OSError as exc:
            raise os_error(exc, path, "write") from exc
        yield tmp
