"""Keep the native (C++) start-up lines of TensorFlow, absl and CUDA off the user's terminal.

TensorFlow's shared libraries log before Python can configure anything: "All log messages before
absl::InitializeLog() is called are written to STDERR", the oneDNN notice and "Could not find cuda
drivers", twice each, and later "failed call to cuInit" on a machine without a GPU. Those lines
are written by C++ straight to file descriptor 2, and the ones before absl's initialisation ignore
``TF_CPP_MIN_LOG_LEVEL`` (tensorflow/tensorflow#100442). So, unless the user asked for them:

- ``TF_CPP_MIN_LOG_LEVEL=3`` and ``GLOG_minloglevel=2`` are set before TensorFlow loads (a level
  the user set wins), which silences the native lines logged after start-up (cuInit);
- the first ``import tensorflow`` runs with descriptor 2 captured, and what it wrote goes back to
  stderr without the absl-formatted native lines (Python warnings and errors still show).

Every package calls :func:`install` on import; a command's ``-v`` calls :func:`set_verbose`, which
lets everything through when TensorFlow has not loaded yet.

Example:
    >>> import data_pipeline.native_logs as native_logs
    >>> native_logs.is_native_noise("WARNING: All log messages before absl::InitializeLog() is")
    True
    >>> native_logs.is_native_noise("UserWarning: something the user must see")
    False
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from collections.abc import Sequence
from types import ModuleType

#: Environment defaults that quiet native logging; a value the user set is left alone.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2"}
#: Modules whose first import runs with native stderr lines filtered.
FILTERED_IMPORTS = ("tensorflow",)

_NATIVE_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\]"  # absl/glog: I0000 00:00:17.3 42 a.cc:1]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\])"  # TensorFlow's own C++ format
)
_set_by_us: set[str] = set()
_verbose = False


def is_native_noise(line: str) -> bool:
    """Whether ``line`` is a native log line written while TensorFlow loads."""
    return bool(_NATIVE_LINE.match(line))


def install() -> None:
    """Set the quiet environment defaults and filter TensorFlow's first import (idempotent)."""
    if _verbose:
        return
    for name, value in QUIET_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            _set_by_us.add(name)
    if not any(isinstance(finder, _FilteringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FilteringFinder())


def set_verbose(verbose: bool) -> None:
    """``-v``: undo :func:`install` (effective only while TensorFlow has not loaded)."""
    global _verbose
    _verbose = verbose
    if not verbose:
        return
    for name in list(_set_by_us):
        os.environ.pop(name, None)
        _set_by_us.discard(name)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _FilteringFinder)]


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Capture descriptor 2 for the block; replay what it wrote minus native log lines."""
    if _verbose:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (embedded interpreters): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line
                for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                if not is_native_noise(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _FilteringLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with filtered_stderr():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> object:  # resource readers, get_source, ...
        return getattr(self._loader, name)


class _FilteringFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`FILTERED_IMPORTS` as usual and loads them filtered, once."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in FILTERED_IMPORTS or fullname in sys.modules:
            return None
        others = [finder for finder in sys.meta_path if not isinstance(finder, _FilteringFinder)]
        for finder in others:
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _FilteringLoader(spec.loader)  # type: ignore[arg-type]
                return spec
        return None
