"""Compiled kernels: one place that decides how numba is used.

numba compiles a function on its first call (typically 0.2-2 s per kernel) and keeps the
machine code in its on-disk cache (``__pycache__`` next to the module, or ``NUMBA_CACHE_DIR``),
so later processes load it in milliseconds. ``nogil`` lets other threads run while a kernel
does. Importing this module imports numba (about half a second); import it only from modules
that need compiled code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["jit", "pjit"]

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(fn: _F) -> _F:
    """numba ``njit`` with an on-disk cache and without the GIL, typed for mypy as the plain
    function (the compiled dispatcher keeps the Python original as ``py_func``)."""
    return cast(_F, numba.njit(cache=True, nogil=True)(fn))


def pjit(fn: _F) -> _F:
    """Like :func:`jit`, with the function's ``numba.prange`` loops run on numba's thread pool
    (``numba.set_num_threads`` / ``NUMBA_NUM_THREADS`` choose how many threads)."""
    return cast(_F, numba.njit(cache=True, nogil=True, parallel=True)(fn))
