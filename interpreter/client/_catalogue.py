"""A catalogue: the saga files under some folders, by saga name, re-read when they change.

Reading a catalogue never raises for a file: a file that cannot be read or is invalid is
an entry with `valid` False and its diagnostics, so one bad file cannot hide the others.
Each look re-checks the files' sizes and modification times, and re-validates only the
files that changed; the catalogue is therefore always as fresh as the disk.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl import Diagnostic, Saga, load_and_check

__all__ = ["Catalogue", "CatalogueEntry", "SAGA_SUFFIXES"]

SAGA_SUFFIXES = (".yaml", ".yml", ".json")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class CatalogueEntry:
    """One saga file as the catalogue sees it."""

    name: str
    """The saga's `name`, or the file's stem when the file has no readable name."""
    file: str
    saga: Saga | None
    """The checked saga when the file is valid, else None."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    data: Any = None
    """The file's content as loaded (None when it could not be loaded)."""

    @property
    def valid(self) -> bool:
        return self.saga is not None

    @property
    def description(self) -> str | None:
        if self.saga is not None:
            return self.saga.description
        value = self.data.get("description") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def input_schema(self) -> dict[str, Any] | None:
        return self.saga.input if self.saga is not None else None


class Catalogue:
    """The saga files under `folders` (recursively), by name; thread-safe."""

    def __init__(self, folders: Sequence[str | Path]) -> None:
        self.folders = [Path(folder) for folder in folders]
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[_Stamp, CatalogueEntry]] = {}
        self._entries: dict[str, CatalogueEntry] = {}
        self._version = 0

    def entries(self) -> list[CatalogueEntry]:
        """Every entry, sorted by name then file."""
        with self._lock:
            self._refresh()
            return sorted(self._entries.values(), key=lambda e: (e.name, e.file))

    def get(self, name: str) -> CatalogueEntry | None:
        with self._lock:
            self._refresh()
            return self._entries.get(name)

    @property
    def version(self) -> int:
        """A number that changes whenever an entry changed (after a look)."""
        with self._lock:
            self._refresh()
            return self._version

    def _refresh(self) -> None:
        stamps = dict(_stamps(self._saga_files()))
        changed = stamps.keys() != self._files.keys() or any(
            self._files[path][0] != stamp for path, stamp in stamps.items()
        )
        if not changed:
            return
        self._files = {
            path: self._files[path]
            if path in self._files and self._files[path][0] == stamp
            else (stamp, _read(path))
            for path, stamp in sorted(stamps.items())
        }
        self._entries = _by_name(entry for _, entry in self._files.values())
        self._version += 1

    def _saga_files(self) -> list[Path]:
        found: list[Path] = []
        for folder in self.folders:
            if folder.is_file():
                found.append(folder)
                continue
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [Path(root) / f for f in sorted(files) if f.endswith(SAGA_SUFFIXES)]
        return found


def _stamps(paths: Iterable[Path]) -> Iterable[tuple[Path, _Stamp]]:
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue  # removed while we looked: gone from the catalogue
        yield path, (info.st_mtime_ns, info.st_ctime_ns, info.st_size)


def _read(path: Path) -> CatalogueEntry:
    try:
        result = load_and_check(path)
    except Exception as error:  # a validator bug must not take the catalogue down
        problem = Diagnostic(str(path), 1, 1, "error", f"cannot check this file: {error}")
        return CatalogueEntry(path.stem, str(path), None, [problem])
    data = result.document.data if result.document is not None else None
    if result.ok and result.saga is not None:
        return CatalogueEntry(result.saga.name, str(path), result.saga, result.diagnostics, data)
    return CatalogueEntry(_fallback_name(path, data), str(path), None, result.diagnostics, data)


def _fallback_name(path: Path, data: Any) -> str:
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and _NAME.match(name) else path.stem


def _by_name(entries: Iterable[CatalogueEntry]) -> dict[str, CatalogueEntry]:
    """One entry per name: a second file claiming a name is listed under its file's path."""
    named: dict[str, CatalogueEntry] = {}
    for entry in entries:
        first = named.get(entry.name)
        if first is None:
            named[entry.name] = entry
            continue
        message = f"another file already defines the saga {entry.name!r}: {first.file}"
        clash = Diagnostic(entry.file, 1, 1, "error", message)
        named[entry.file] = CatalogueEntry(
            entry.file, entry.file, None, [*entry.diagnostics, clash], entry.data
        )
    return named
