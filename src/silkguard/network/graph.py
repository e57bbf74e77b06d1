"""A directed road graph stored as compressed sparse row (CSR) arrays.

The graph is a handful of flat numpy arrays: node coordinates, the CSR row pointer ``indptr``,
one entry per edge for the head node, length, speed, road class and name. Edge ``k`` leaves the
node ``v`` with ``indptr[v] <= k < indptr[v + 1]``. A country-size graph (millions of nodes)
stays a few hundred megabytes, saves to one ``.npz`` file and loads in well under a second
because loading is a handful of contiguous reads with no Python loop (see docs/network.md).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import EARTH_RADIUS_KM

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["FORMAT_VERSION", "ROAD_CLASSES", "RoadGraph"]

#: Road classes, in decreasing order of importance; ``road_class`` indexes this tuple.
ROAD_CLASSES: Final[tuple[str, ...]] = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
    "track",
    "other",
)

#: Version of the ``.npz`` layout written by :meth:`RoadGraph.save`; bumped on any change.
FORMAT_VERSION: Final[int] = 1

_MAGIC: Final[str] = "silkguard.network.RoadGraph"

_ARRAY_DTYPES: Final[dict[str, type[np.generic]]] = {
    "node_lat": np.float64,
    "node_lon": np.float64,
    "indptr": np.int64,
    "heads": np.int32,
    "length_m": np.float64,
    "speed_kmh": np.float32,
    "road_class": np.uint8,
    "name_idx": np.int32,
}

_FIX_FILE = "re-create it with `RoadGraph.save` (or re-run the OSM import)"


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph in CSR form.

    Attributes
    ----------
    node_lat, node_lon
        float64 arrays of length ``n``, decimal degrees.
    indptr
        int64 array of length ``n + 1``; the edges leaving node ``v`` are
        ``indptr[v]:indptr[v + 1]``.
    heads
        int32 array of length ``m``; the node each edge enters.
    length_m
        float64 array of length ``m``, edge length in metres.
    speed_kmh
        float32 array of length ``m``, free-flow speed in km/h (> 0).
    road_class
        uint8 array of length ``m``, index into :data:`ROAD_CLASSES`.
    name_idx
        int32 array of length ``m``, index into ``names`` or -1 for an unnamed edge.
    names
        The distinct road names.

    Use :meth:`from_edges` to build one from an edge list; the constructor trusts its input.
    """

    node_lat: npt.NDArray[np.float64]
    node_lon: npt.NDArray[np.float64]
    indptr: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int32]
    length_m: npt.NDArray[np.float64]
    speed_kmh: npt.NDArray[np.float32]
    road_class: npt.NDArray[np.uint8]
    name_idx: npt.NDArray[np.int32]
    names: tuple[str, ...]

    def __repr__(self) -> str:
        return f"RoadGraph(n_nodes={self.n_nodes}, n_edges={self.n_edges}, names={len(self.names)})"

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_edges(
        cls,
        node_lat: npt.ArrayLike,
        node_lon: npt.ArrayLike,
        tails: npt.ArrayLike,
        heads: npt.ArrayLike,
        length_m: npt.ArrayLike,
        speed_kmh: npt.ArrayLike,
        road_class: npt.ArrayLike,
        name_idx: npt.ArrayLike,
        names: Sequence[str],
    ) -> RoadGraph:
        """Build a graph from an edge list, validating every array.

        Parameters
        ----------
        node_lat, node_lon
            Node coordinates in decimal degrees, length ``n``.
        tails, heads
            Node indices of each edge's start and end, length ``m``.
        length_m
            Edge lengths in metres (finite, >= 0).
        speed_kmh
            Edge speeds in km/h (finite, > 0).
        road_class
            Index into :data:`ROAD_CLASSES` per edge.
        name_idx
            Index into ``names`` per edge, -1 for unnamed.
        names
            Distinct road names.

        Returns
        -------
        RoadGraph
            Edges sorted by tail (stable, so edges of one tail keep their input order).

        Raises
        ------
        InvalidInput
            On a shape, dtype or range problem; the message names the array and the first
            offending position.
        """
        lat = _as_1d("node_lat", node_lat, np.float64)
        lon = _as_1d("node_lon", node_lon, np.float64)
        if lat.shape != lon.shape:
            raise InvalidInput(
                f"node_lat has {lat.size} values but node_lon has {lon.size}; "
                "pass one latitude and one longitude per node"
            )
        n = lat.size
        _check_range("node_lat", lat, -90.0, 90.0)
        _check_range("node_lon", lon, -180.0, 180.0)

        t = _as_1d("tails", tails, np.int64)
        h = _as_1d("heads", heads, np.int64)
        m = t.size
        length = _as_1d("length_m", length_m, np.float64)
        speed = _as_1d("speed_kmh", speed_kmh, np.float32)
        rclass = _as_1d("road_class", road_class, np.int64)
        nidx = _as_1d("name_idx", name_idx, np.int64)
        for label, arr in (
            ("heads", h),
            ("length_m", length),
            ("speed_kmh", speed),
            ("road_class", rclass),
            ("name_idx", nidx),
        ):
            if arr.size != m:
                raise InvalidInput(
                    f"{label} has {arr.size} values but tails has {m}; "
                    "pass exactly one value per edge in every edge array"
                )
        _check_index("tails", t, 0, n - 1, f"node indices 0..{n - 1}")
        _check_index("heads", h, 0, n - 1, f"node indices 0..{n - 1}")
        _check_range("length_m", length, 0.0, math.inf)
        bad = np.flatnonzero(~(np.isfinite(speed) & (speed > 0)))
        if bad.size:
            raise InvalidInput(
                f"speed_kmh[{bad[0]}] = {speed[bad[0]]!r} is not a positive finite speed; "
                "give every edge a speed in km/h above 0"
            )
        _check_index(
            "road_class",
            rclass,
            0,
            len(ROAD_CLASSES) - 1,
            f"indices into ROAD_CLASSES 0..{len(ROAD_CLASSES) - 1}",
        )
        names_t = tuple(str(s) for s in names)
        _check_index("name_idx", nidx, -1, len(names_t) - 1, f"-1..{len(names_t) - 1}")

        order = np.argsort(t, kind="stable")
        counts = np.bincount(t, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(
            node_lat=np.ascontiguousarray(lat),
            node_lon=np.ascontiguousarray(lon),
            indptr=indptr,
            heads=h[order].astype(np.int32),
            length_m=length[order],
            speed_kmh=speed[order],
            road_class=rclass[order].astype(np.uint8),
            name_idx=nidx[order].astype(np.int32),
            names=names_t,
        )

    # ------------------------------------------------------------------ properties

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_lat.size)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.heads.size)

    @cached_property
    def tails(self) -> npt.NDArray[np.int32]:
        """int32 array of length ``m``: the node each edge leaves (derived from ``indptr``)."""
        counts = np.diff(self.indptr)
        return np.repeat(np.arange(self.n_nodes, dtype=np.int32), counts)

    @property
    def travel_time_s(self) -> npt.NDArray[np.float64]:
        """float64 free-flow travel time per edge in seconds (length / speed)."""
        result: npt.NDArray[np.float64] = self.length_m / (self.speed_kmh.astype(np.float64) / 3.6)
        return result

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the graph's arrays and names (not counting caches)."""
        arrays = (
            self.node_lat,
            self.node_lon,
            self.indptr,
            self.heads,
            self.length_m,
            self.speed_kmh,
            self.road_class,
            self.name_idx,
        )
        return sum(a.nbytes for a in arrays) + sum(len(s.encode()) for s in self.names)

    def out_edges(self, node: int) -> range:
        """Edge indices leaving ``node``."""
        return range(int(self.indptr[node]), int(self.indptr[node + 1]))

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the graph to one uncompressed ``.npz`` file at exactly ``path``.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        dest = Path(path)
        arrays: dict[str, Any] = {name: getattr(self, name) for name in _ARRAY_DTYPES}
        arrays["names"] = (
            np.array(self.names, dtype=np.str_) if self.names else np.array([], dtype="<U1")
        )
        arrays["format_version"] = np.array(FORMAT_VERSION, dtype=np.int64)
        arrays["magic"] = np.array(_MAGIC)
        with dest.open("wb") as fh:
            np.savez(fh, **arrays)
        return dest

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph:
        """Read a graph written by :meth:`save`.

        Only cheap vectorised checks run (keys, dtypes, sizes, index bounds), so a
        multi-million-node graph loads in well under a second.

        Raises
        ------
        InvalidInput
            If the file is missing, is not a silkguard road graph, or was written by another
            format version; the message names the path and how to fix it.
        """
        src = Path(path)
        if not src.is_file():
            raise InvalidInput(f"road graph file {src} does not exist; {_FIX_FILE}")
        try:
            with src.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
                data = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise InvalidInput(
                f"{src} is not a silkguard road graph (.npz) file ({exc}); {_FIX_FILE}"
            ) from exc
        if str(data.get("magic", "")) != _MAGIC:
            raise InvalidInput(f"{src} is an .npz file but not a silkguard road graph; {_FIX_FILE}")
        version = int(data["format_version"]) if "format_version" in data else -1
        if version != FORMAT_VERSION:
            raise InvalidInput(
                f"{src} holds road graph format version {version}, this silkguard reads "
                f"version {FORMAT_VERSION}; {_FIX_FILE}"
            )
        missing = [k for k in (*_ARRAY_DTYPES, "names") if k not in data]
        if missing:
            raise InvalidInput(f"{src} lacks the arrays {', '.join(missing)}; {_FIX_FILE}")
        for key, dtype in _ARRAY_DTYPES.items():
            arr = data[key]
            if arr.dtype != np.dtype(dtype) or arr.ndim != 1:
                raise InvalidInput(
                    f"{src}: array {key} has dtype {arr.dtype} and {arr.ndim} dimensions, "
                    f"expected a 1-d {np.dtype(dtype)} array; {_FIX_FILE}"
                )
        n = data["node_lat"].size
        m = data["heads"].size
        indptr = data["indptr"]
        consistent = (
            data["node_lon"].size == n
            and indptr.size == n + 1
            and all(data[k].size == m for k in ("length_m", "speed_kmh", "road_class", "name_idx"))
            and int(indptr[0]) == 0
            and int(indptr[-1]) == m
            and (m == 0 or (int(data["heads"].min()) >= 0 and int(data["heads"].max()) < n))
            and bool(np.all(indptr[1:] >= indptr[:-1]))
        )
        if not consistent:
            raise InvalidInput(f"{src} holds inconsistent road graph arrays; {_FIX_FILE}")
        return cls(
            node_lat=data["node_lat"],
            node_lon=data["node_lon"],
            indptr=indptr,
            heads=data["heads"],
            length_m=data["length_m"],
            speed_kmh=data["speed_kmh"],
            road_class=data["road_class"],
            name_idx=data["name_idx"],
            names=tuple(data["names"].tolist()),
        )

    # ------------------------------------------------------------------ snapping

    @cached_property
    def _projection_lat0_rad(self) -> float:
        return math.radians(float(self.node_lat.mean())) if self.n_nodes else 0.0

    def _project_km(
        self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Equirectangular projection about the graph's mean latitude, in km (x, y columns)."""
        x = EARTH_RADIUS_KM * np.radians(lon) * math.cos(self._projection_lat0_rad)
        y = EARTH_RADIUS_KM * np.radians(lat)
        return np.column_stack([x, y])

    @cached_property
    def _kdtree(self) -> cKDTree:
        from scipy.spatial import cKDTree

        return cKDTree(self._project_km(self.node_lat, self.node_lon))

    def snap(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, *, max_km: float = 5.0
    ) -> npt.NDArray[np.int64]:
        """Nearest node for each point.

        Distances use an equirectangular projection about the graph's mean latitude, which is
        accurate to well under 1% over the few kilometres that matter for snapping.

        Parameters
        ----------
        lat, lon
            Points in decimal degrees (scalars or equal-shape arrays).
        max_km
            A point farther than this from every node is an error.

        Returns
        -------
        numpy.ndarray
            int64 node indices, one per point (1-d).

        Raises
        ------
        InvalidInput
            If the graph is empty, shapes differ, or a point is farther than ``max_km``.
        """
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64)).ravel()
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64)).ravel()
        if la.shape != lo.shape:
            raise InvalidInput(
                f"snap got {la.size} latitudes and {lo.size} longitudes; pass one of each per point"
            )
        if self.n_nodes == 0:
            raise InvalidInput("cannot snap to an empty road graph; load or import a network first")
        if not (np.all(np.isfinite(la)) and np.all(np.isfinite(lo))):
            raise InvalidInput("snap got a non-finite coordinate; pass decimal degrees")
        dist_raw, idx = self._kdtree.query(self._project_km(la, lo))
        dist = np.asarray(dist_raw, dtype=np.float64)
        far = np.flatnonzero(dist > max_km)
        if far.size:
            i = int(far[0])
            raise InvalidInput(
                f"point {i} ({la[i]:.5f}, {lo[i]:.5f}) is {float(dist[i]):.1f} km from the "
                f"nearest road node, more than max_km={max_km}; check the coordinates "
                "(latitude first) or raise max_km"
            )
        return np.asarray(idx, dtype=np.int64)

    # ------------------------------------------------------------------ interop

    def to_networkx(self) -> Any:
        """A ``networkx.MultiDiGraph`` copy (for tests and benchmarks; needs networkx).

        Nodes carry ``lat``/``lon``; edges carry ``key`` = edge index, ``length_m``,
        ``travel_time_s``, ``road_class`` (name) and ``name`` (or None).
        """
        import networkx as nx  # type: ignore[import-untyped]

        g = nx.MultiDiGraph()
        g.add_nodes_from(
            (i, {"lat": float(a), "lon": float(b)})
            for i, (a, b) in enumerate(zip(self.node_lat, self.node_lon, strict=True))
        )
        tt = self.travel_time_s
        tails = self.tails
        for k in range(self.n_edges):
            ni = int(self.name_idx[k])
            g.add_edge(
                int(tails[k]),
                int(self.heads[k]),
                key=k,
                length_m=float(self.length_m[k]),
                travel_time_s=float(tt[k]),
                road_class=ROAD_CLASSES[int(self.road_class[k])],
                name=self.names[ni] if ni >= 0 else None,
            )
        return g


def _as_1d(label: str, values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[Any]:
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{label} is not an array of numbers ({exc})") from exc
    if arr.ndim != 1:
        raise InvalidInput(f"{label} has shape {arr.shape}; pass a 1-d array")
    if np.issubdtype(np.dtype(dtype), np.integer):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInput(
                f"{label} has dtype {arr.dtype}; pass integer indices (e.g. numpy int32/int64)"
            )
    elif arr.size and not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise InvalidInput(f"{label} has dtype {arr.dtype}; pass numbers")
    return arr.astype(dtype, copy=False)


def _check_range(label: str, arr: npt.NDArray[Any], lo: float, hi: float) -> None:
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr >= lo) & (arr <= hi)))
    if bad.size:
        i = int(bad[0])
        raise InvalidInput(
            f"{label}[{i}] = {arr[i]!r} is outside {lo}..{hi}; fix that value "
            f"({bad.size} value(s) in all)"
        )


def _check_index(label: str, arr: npt.NDArray[Any], lo: int, hi: int, accepted: str) -> None:
    if arr.size == 0:
        return
    bad = np.flatnonzero((arr < lo) | (arr > hi))
    if bad.size:
        i = int(bad[0])
        raise InvalidInput(f"{label}[{i}] = {int(arr[i])} is out of range; accepted are {accepted}")
