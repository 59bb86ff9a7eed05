"""Automatic turf cutting: split a ward's buildings into walkable turfs of about
`target_doors` doors each.

Method
------
1. Precinct packing. A precinct whose doors divide into turfs close to the
   target is cut on its own, so no turf crosses its line; precincts that do
   not divide well merge with the neighbour they share most border with
   (preferring neighbours that could not stand alone either) until they do.
2. Recursive balanced bisection inside each group. Buildings are sorted along
   the east-west, north-south and principal axes; every cut position is scored
   by door balance, by the block faces and precincts it cuts (a cut along a
   face, zig-zagging between its doors, costs most), by how uneven the turf
   counts of the two sides are and by cutting the node's short side. The
   number of turfs on each side follows from its doors. The cheapest cuts are
   tried in turn and the first that keeps both sides in one piece (on the
   Delaunay graph of the buildings) wins.
3. Local improvement: buildings at one spot share a turf, stray pieces join the
   neighbouring turf they touch most, split block faces are re-joined where
   balance allows, and turfs outside the band trade border buildings with
   their neighbours, preferably within a precinct.
4. Polygons: Voronoi cells of the buildings dissolved per turf and clipped to
   the boundary, so turf polygons never overlap and each covers its doors;
   pieces cut off by a concave boundary go to the turf they border most.

All distances use an equirectangular projection around the buildings' centroid
(metres), accurate to ~0.1% at ward scale. Buildings are processed in
building_id order, so the result does not depend on the input order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, QhullError
from shapely.geometry import MultiPoint, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from canvass.turfs.walk_order import Stop, order_stops, route_length_m

__all__ = [
    "Building",
    "CutError",
    "CutQuality",
    "CutResult",
    "CutTurf",
    "MAX_TARGET_DOORS",
    "cut_turfs",
    "turfs_from_assignment",
]

MAX_TARGET_DOORS = 100_000
BALANCE_TOLERANCE = 0.15  # the promise: turfs within +-15% of the target
IMPROVE_TOLERANCE = 0.14  # local moves keep turfs inside this band
LEAF_TOLERANCE = 0.11  # bisection aims tighter, leaving room for local moves
NODE_TOLERANCE = 0.07  # ... and tighter still for groups of several turfs
MIN_TOLERANCE = 0.02
PRECINCT_CUT_COST = 1.0  # in units of relative imbalance
FACE_CUT_COST = 0.06
LENGTHWISE_CUT_COST = 0.5  # cutting along a face splits its doors alternately
LENGTHWISE_MIN_M = 8.0
UNEVEN_COST = 0.3  # per unit of |k_left/k - 1/2|: keeps turf shapes squat
SHORT_AXIS_COST = 0.3  # per unit of (1 - cut extent / cross extent)
CUT_CANDIDATES = 12  # cheapest cuts tried per step for keeping turfs in one piece
GROUP_TOLERANCE = 0.09  # a precinct group stands alone if it divides this well
WHOLE_PRECINCT_TOLERANCE = 0.13  # ... or if it is one turf within this
SITE_PRECISION_M = 0.001  # buildings closer than this share one Voronoi site
OUTSIDE_BUFFER_M = 5.0  # doors outside the boundary still get a patch of polygon
HULL_MARGIN_M = 60.0  # clip region when no boundary is given
DETACHED_SHARE = 0.3  # a turf's detached polygon part with fewer doors is moved
EARTH_RADIUS_M = 6_371_008.8


class CutError(ValueError):
    """Invalid input to turf cutting; `code` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Building:
    building_id: int
    lon: float
    lat: float
    doors: int = 1  # households/units to knock
    precinct: str | None = None
    street: str | None = None  # normalised, e.g. "W ADDISON ST"
    block: int | None = None  # hundred block
    side: str | None = None  # "odd" | "even"


@dataclass(slots=True)
class CutTurf:
    index: int
    building_ids: list[int]
    door_count: int
    polygon: Polygon | MultiPolygon  # lon/lat
    precincts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CutQuality:
    turf_count: int
    target: int
    mean_doors: float
    min_doors: int
    max_doors: int
    max_abs_deviation_pct: float  # worst |doors - target| / target, in %
    share_within_15pct: float  # 0..1
    # Polsby-Popper (4*pi*area/perimeter^2, 1 = disc) of each turf polygon.
    mean_compactness: float
    # Polsby-Popper of the convex hull of each turf's buildings (0 for < 3).
    mean_hull_compactness: float
    mean_route_length_m: float  # walk over the turf's buildings in walk order
    total_route_length_m: float
    split_block_faces: int  # block faces whose buildings fall in > 1 turf
    split_precincts: int  # precincts whose buildings fall in > 1 turf
    disconnected_turfs: int  # turfs whose polygon has more than one part


@dataclass(slots=True)
class CutResult:
    turfs: list[CutTurf]
    quality: CutQuality


# --------------------------------------------------------------------------
# Validation and preparation


def _validate_target(target_doors) -> int:
    if isinstance(target_doors, bool) or not isinstance(target_doors, (int, np.integer)):
        raise CutError("invalid_target", f"target_doors must be an integer, got {target_doors!r}")
    if not 1 <= target_doors <= MAX_TARGET_DOORS:
        raise CutError(
            "invalid_target",
            f"target_doors must be between 1 and {MAX_TARGET_DOORS}, got {target_doors}",
        )
    return int(target_doors)


def _validate_buildings(buildings: Iterable[Building]) -> list[Building]:
    items = list(buildings)
    if not items:
        raise CutError("no_households", "there are no buildings with households to cut into turfs")
    seen: set[int] = set()
    for b in items:
        if b.building_id in seen:
            raise CutError("duplicate_building", f"building {b.building_id} appears more than once")
        seen.add(b.building_id)
        if isinstance(b.doors, bool) or not isinstance(b.doors, (int, np.integer)) or b.doors < 1:
            raise CutError("invalid_building", f"building {b.building_id} must have at least 1 door")
        if not (math.isfinite(b.lon) and math.isfinite(b.lat) and -180 <= b.lon <= 180 and -90 <= b.lat <= 90):
            raise CutError("invalid_building", f"building {b.building_id} has invalid coordinates")
    # A canonical order makes the cut independent of how the input was listed.
    return sorted(items, key=lambda b: b.building_id)


@dataclass(slots=True)
class _Frame:
    """Equirectangular projection around a fixed origin."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return math.pi / 180 * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        return math.pi / 180 * EARTH_RADIUS_M

    def forward(self, lon, lat) -> np.ndarray:
        return np.column_stack(((np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky))

    def geometry_forward(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: self.forward(c[:, 0], c[:, 1]))

    def geometry_back(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(
            geom, lambda c: np.column_stack((c[:, 0] / self.kx + self.lon0, c[:, 1] / self.ky + self.lat0))
        )


@dataclass(slots=True)
class _Data:
    items: list[Building]
    xy: np.ndarray  # (n, 2) metres
    doors: np.ndarray  # (n,)
    precinct: np.ndarray  # group code; buildings without a precinct get their own
    precinct_real: np.ndarray  # bool: code is a real precinct
    face: np.ndarray  # block-face group code (within precinct), same convention
    face_real: np.ndarray
    site: np.ndarray  # index of the building's Voronoi site
    site_xy: np.ndarray
    frame: _Frame


def _group_codes(keys: list) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for keys; a None key gets a code of its own."""
    codes = np.empty(len(keys), dtype=np.int64)
    real = np.empty(len(keys), dtype=bool)
    table: dict = {}
    for i, key in enumerate(keys):
        if key is None:
            codes[i] = len(table)
            table[("__single__", i)] = codes[i]
            real[i] = False
        else:
            codes[i] = table.setdefault(key, len(table))
            real[i] = True
    return codes, real


def _prepare(items: list[Building]) -> _Data:
    lon = np.array([b.lon for b in items], dtype=float)
    lat = np.array([b.lat for b in items], dtype=float)
    frame = _Frame(lon0=float(lon.mean()), lat0=float(lat.mean()))
    xy = frame.forward(lon, lat)
    doors = np.array([int(b.doors) for b in items], dtype=np.int64)
    precinct, precinct_real = _group_codes([b.precinct for b in items])
    face_keys = [
        (b.precinct, b.street, b.block, b.side) if (b.street and b.block is not None) else None for b in items
    ]
    face, face_real = _group_codes(face_keys)

    rounded = np.round(xy / SITE_PRECISION_M).astype(np.int64)
    _, first, site = np.unique(rounded, axis=0, return_index=True, return_inverse=True)
    site = site.reshape(-1)
    return _Data(
        items=items, xy=xy, doors=doors, precinct=precinct, precinct_real=precinct_real,
        face=face, face_real=face_real, site=site,
        site_xy=xy[first], frame=frame,
    )


def _best_turf_count(total_doors: float, target: float) -> int:
    """Turf count whose average is closest (relatively) to the target."""
    low = max(1, math.floor(total_doors / target))
    high = max(1, math.ceil(total_doors / target))
    dev = lambda k: abs(total_doors / k - target)  # noqa: E731
    return low if dev(low) <= dev(high) else high


# --------------------------------------------------------------------------
# Recursive bisection


def _groups_split(
    sorted_codes: np.ndarray, sorted_real: np.ndarray, proj: np.ndarray, perp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each cut between sorted items p and p+1: how many real groups
    (precincts or block faces) have members on both sides, and how many of
    those are cut lengthwise (the group is thin along the cut axis, so the cut
    would zig-zag through it instead of crossing it once)."""
    n = len(sorted_codes)
    uniq, inverse = np.unique(sorted_codes, return_inverse=True)
    ranks = np.arange(n)
    first = np.full(len(uniq), n, dtype=np.int64)
    last = np.full(len(uniq), -1, dtype=np.int64)
    np.minimum.at(first, inverse, ranks)
    np.maximum.at(last, inverse, ranks)
    perp_lo = np.full(len(uniq), np.inf)
    perp_hi = np.full(len(uniq), -np.inf)
    np.minimum.at(perp_lo, inverse, perp)
    np.maximum.at(perp_hi, inverse, perp)
    real = np.zeros(len(uniq), dtype=bool)
    real[inverse] = sorted_real
    spans = real & (last > first)
    along = proj[np.maximum(last, 0)] - proj[np.minimum(first, n - 1)]
    thin = spans & (along < np.maximum(LENGTHWISE_MIN_M, 0.25 * (perp_hi - perp_lo)))

    def count(mask: np.ndarray) -> np.ndarray:
        # A group spanning ranks first..last is cut by every cut first..last-1.
        diff = np.zeros(n + 1)
        np.add.at(diff, first[mask], 1.0)
        np.add.at(diff, last[mask], -1.0)
        return np.cumsum(diff)[: n - 1]

    return count(spans), count(thin)


def _candidate_axes(xy: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """East-west, north-south (Chicago's grid) and the principal axis."""
    axes = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    if len(xy) > 2:
        centred = xy - np.average(xy, axis=0, weights=weights)
        cov = (centred * weights[:, None]).T @ centred
        values, vectors = np.linalg.eigh(cov)
        axis = vectors[:, int(np.argmax(values))]
        # Fix the sign so the same input always sorts the same way.
        axis = axis if (axis[0], axis[1]) >= (0, 0) else -axis
        if min(abs(axis[0]), abs(axis[1])) > 0.2:
            axes.append(axis)
    return axes


def _cut_candidates(
    data: _Data, idx: np.ndarray, k: int, per_turf: float, slack: float, axis: np.ndarray, limit: int
):
    """Cheapest cuts of idx along axis, best first, as tuples
    ((infeasible, cost), sorted idx, cut position, k_left). `slack` is how far
    (relative) per_turf already is from the target: it eats into the bands."""
    xy = data.xy[idx]
    proj = xy @ axis
    perp = xy @ np.array([-axis[1], axis[0]])
    order = np.lexsort((idx, perp, proj))
    idx = idx[order]
    cum = np.cumsum(data.doors[idx].astype(float))
    left = cum[:-1]  # doors on the low side of cut p (after sorted item p)
    right = cum[-1] - left

    # Turfs on each side follow from its doors.
    best_dev = np.full(len(left), np.inf)
    k1 = np.ones(len(left), dtype=np.int64)
    for guess in (np.floor(left / per_turf), np.ceil(left / per_turf)):
        guess = np.clip(guess, 1, k - 1).astype(np.int64)
        dev = np.maximum(np.abs(left / guess - per_turf), np.abs(right / (k - guess) - per_turf)) / per_turf
        better = dev < best_dev
        best_dev = np.where(better, dev, best_dev)
        k1 = np.where(better, guess, k1)
    k2 = k - k1
    dev_left = np.abs(left / k1 - per_turf) / per_turf
    dev_right = np.abs(right / k2 - per_turf) / per_turf
    leaf_tol = max(MIN_TOLERANCE, LEAF_TOLERANCE - slack)
    node_tol = max(MIN_TOLERANCE, NODE_TOLERANCE - slack)
    feasible = (dev_left <= np.where(k1 == 1, leaf_tol, node_tol)) & (
        dev_right <= np.where(k2 == 1, leaf_tol, node_tol)
    )
    # Children elongated across the axis walk badly: penalise cutting the
    # node's short side.
    extent, extent_perp = np.ptp(proj), np.ptp(perp)
    shape_cost = SHORT_AXIS_COST * max(0.0, 1.0 - extent / extent_perp) if extent_perp > 0 else 0.0
    sorted_proj, sorted_perp = proj[order], perp[order]
    precinct_cuts, _ = _groups_split(data.precinct[idx], data.precinct_real[idx], sorted_proj, sorted_perp)
    face_cuts, lengthwise = _groups_split(data.face[idx], data.face_real[idx], sorted_proj, sorted_perp)
    cost = (
        best_dev
        + PRECINCT_CUT_COST * precinct_cuts
        + FACE_CUT_COST * face_cuts
        + LENGTHWISE_CUT_COST * lengthwise
        + UNEVEN_COST * np.abs(k1 / k - 0.5)
        + shape_cost
    )
    # Only cuts between distinct positions are real cuts.
    distinct = np.diff(proj[order]) > 0
    key = np.where(feasible, cost, 1e6 + best_dev)
    key = np.where(distinct, key, np.inf)
    if not np.isfinite(key).any():
        key = np.where(feasible, cost, 1e6 + best_dev)
    take = np.argsort(key, kind="stable")[:limit]
    return [((int(not feasible[p]), float(key[p])), idx, int(p), int(k1[p])) for p in take if np.isfinite(key[p])]


class _Connectivity:
    """Counts connected pieces of building sets on the Delaunay site graph."""

    def __init__(self, data: _Data, edges):
        self.site = data.site
        self.n_sites = len(data.site_xy)
        self.a, self.b = edges if edges is not None else (np.array([], np.intp), np.array([], np.intp))
        self.local = np.full(self.n_sites, -1, dtype=np.int64)

    def pieces(self, idx: np.ndarray, side: np.ndarray | None = None) -> int:
        """Components of idx, or the sum over both sides when side (bool per idx) is given."""
        sites = self.site[idx]
        uniq = np.unique(sites)
        self.local[uniq] = np.arange(len(uniq))
        la, lb = self.local[self.a], self.local[self.b]
        keep = (la >= 0) & (lb >= 0)
        la, lb = la[keep], lb[keep]
        if side is not None:
            site_side = np.zeros(len(uniq), dtype=bool)
            site_side[self.local[sites]] = side
            same = site_side[la] == site_side[lb]
            la, lb = la[same], lb[same]
        self.local[uniq] = -1
        graph = coo_matrix((np.ones(len(la)), (la, lb)), shape=(len(uniq), len(uniq)))
        return int(connected_components(graph, directed=False)[0])


def _bisect(
    data: _Data,
    members: np.ndarray,
    k: int,
    per_turf: float,
    slack: float,
    labels: np.ndarray,
    next_label: list[int],
    connectivity: _Connectivity,
):
    """Recursive balanced bisection of members into k turfs (labels in place).

    Candidate cuts are tried cheapest first; the first that does not break a
    side into more pieces than necessary wins (street grids make many straight
    cuts leave stranded slivers of block faces)."""
    stack = [(members, k, connectivity.pieces(members))]
    while stack:
        idx, k, pieces = stack.pop()
        if k <= 1 or len(idx) <= 1:
            labels[idx] = next_label[0]
            next_label[0] += 1
            continue
        weights = data.doors[idx].astype(float)
        candidates = sorted(
            (
                cut
                for axis in _candidate_axes(data.xy[idx], weights)
                for cut in _cut_candidates(data, idx, k, per_turf, slack, axis, CUT_CANDIDATES)
            ),
            key=lambda cut: cut[0],
        )
        chosen = None
        fallback = None
        for cut in candidates[:CUT_CANDIDATES]:
            _, ordered, p, k1 = cut
            side = np.zeros(len(ordered), dtype=bool)
            side[: p + 1] = True
            total = connectivity.pieces(ordered, side)
            if total <= pieces + 1:
                chosen = cut
                break
            if fallback is None or total < fallback[0]:
                fallback = (total, cut)
        if chosen is None:
            chosen = fallback[1] if fallback is not None else candidates[0]
        _, ordered, p, k1 = chosen
        left, right = ordered[: p + 1], ordered[p + 1 :]
        stack.append((right, k - k1, connectivity.pieces(right)))
        stack.append((left, k1, connectivity.pieces(left)))


def _precinct_groups(data: _Data, edges, target: int, active: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Pack precincts into groups cut independently: (building indices, turfs).

    A precinct whose doors divide into turfs within GROUP_TOLERANCE of the
    target stands alone, so no turf crosses its line. Smaller ones merge with
    the neighbour they share most border with (preferring merges that become
    divisible) until every group divides well or has no neighbour left.
    """
    codes = data.precinct.copy()
    real = data.precinct_real
    if not active.any():
        return []
    if not real.any():
        return [(np.flatnonzero(active), _best_turf_count(float(data.doors[active].sum()), target))]
    if not real.all():
        # Doors without a precinct join the precinct of the nearest door with one.
        from scipy.spatial import cKDTree

        tree = cKDTree(data.xy[real])
        _, nearest = tree.query(data.xy[~real])
        codes[~real] = codes[real][nearest]

    group_of: dict[int, int] = {int(c): int(c) for c in np.unique(codes)}
    doors: dict[int, float] = {}
    for c, d in zip(codes[active].tolist(), data.doors[active].tolist()):
        doors[c] = doors.get(c, 0.0) + d
    shared: dict[int, dict[int, int]] = {g: {} for g in doors}
    if edges is not None:
        site_code = np.empty(len(data.site_xy), dtype=np.int64)
        site_code[data.site] = codes
        a, b = site_code[edges[0]], site_code[edges[1]]
        cross = a != b
        pairs, counts = np.unique(np.column_stack((a[cross], b[cross])), axis=0, return_counts=True)
        for (u, v), cnt in zip(pairs.tolist(), counts.tolist()):
            if u not in doors or v not in doors:
                continue
            shared[u][v] = shared[u].get(v, 0) + cnt
            shared[v][u] = shared[v].get(u, 0) + cnt

    def divisible(d: float) -> bool:
        k = _best_turf_count(d, target)
        # A precinct that is one turf as it is needs no cutting to be balanced.
        tolerance = WHOLE_PRECINCT_TOLERANCE if k == 1 else GROUP_TOLERANCE
        return abs(d / k - target) <= tolerance * target

    while True:
        stuck = sorted((g for g in doors if not divisible(doors[g])), key=lambda g: (doors[g], g))
        merged = False
        for g in stuck:
            if g not in doors or divisible(doors[g]) or not shared[g]:
                continue
            # Best partner: the merge divides well; the partner could not stand
            # alone either (so fewer whole precincts get consumed); long border.
            h = max(
                shared[g],
                key=lambda o: (divisible(doors[g] + doors[o]), not divisible(doors[o]), shared[g][o], -o),
            )
            # Merge g into h.
            doors[h] += doors.pop(g)
            for o, cnt in shared.pop(g).items():
                shared[o].pop(g, None)
                if o != h:
                    shared[h][o] = shared[h].get(o, 0) + cnt
                    shared[o][h] = shared[o].get(h, 0) + cnt
            for c, grp in group_of.items():
                if grp == g:
                    group_of[c] = h
            merged = True
        if not merged:
            break

    group = np.array([group_of[int(c)] for c in codes.tolist()])
    result = []
    for g in sorted(doors):
        members = np.flatnonzero((group == g) & active)
        result.append((members, _best_turf_count(doors[g], target)))
    return result


# --------------------------------------------------------------------------
# Local improvement


def _site_graph(data: _Data, region: BaseGeometry) -> tuple[np.ndarray, np.ndarray] | None:
    """Delaunay edges between Voronoi sites (i < j), or None if degenerate.

    Edges whose midpoint is outside the clip region (across a concave notch of
    the ward) are dropped: the clipped turf polygons would not touch there."""
    if len(data.site_xy) < 3:
        if len(data.site_xy) == 2:
            return np.array([0]), np.array([1])
        return None
    try:
        tri = Delaunay(data.site_xy)
    except QhullError:
        # Collinear sites: neighbours along the line.
        offsets = data.site_xy - data.site_xy[0]
        direction = offsets[int(np.argmax(np.hypot(offsets[:, 0], offsets[:, 1])))]
        order = np.argsort(data.site_xy @ direction, kind="stable")
        return order[:-1], order[1:]
    s = tri.simplices
    a = np.concatenate((s[:, 0], s[:, 1], s[:, 2]))
    b = np.concatenate((s[:, 1], s[:, 2], s[:, 0]))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    edges = np.unique(np.column_stack((lo, hi)), axis=0)
    mid = (data.site_xy[edges[:, 0]] + data.site_xy[edges[:, 1]]) / 2
    keep = shapely.intersects_xy(region, mid[:, 0], mid[:, 1])
    return edges[keep, 0], edges[keep, 1]


def _unify_sites(data: _Data, labels: np.ndarray) -> None:
    """Buildings at the same spot must share a turf: the one with most doors decides."""
    n_sites = len(data.site_xy)
    if n_sites == len(labels):
        return
    order = np.lexsort((-data.doors, data.site))
    first_of_site = np.full(n_sites, -1)
    first_of_site[data.site[order[::-1]]] = order[::-1]
    labels[:] = labels[first_of_site[data.site]]


def _site_labels(data: _Data, labels: np.ndarray) -> np.ndarray:
    out = np.empty(len(data.site_xy), dtype=np.int64)
    out[data.site] = labels
    return out


def _repair_contiguity(data: _Data, labels: np.ndarray, edges) -> None:
    """Move pieces of a turf that don't touch its main part to the neighbouring
    turf they share most Delaunay edges with."""
    if edges is None:
        return
    a, b = edges
    n_sites = len(data.site_xy)
    site_doors = np.bincount(data.site, weights=data.doors, minlength=n_sites)
    for _ in range(4):
        site_label = _site_labels(data, labels)
        same = site_label[a] == site_label[b]
        graph = coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n_sites, n_sites))
        n_comp, comp = connected_components(graph, directed=False)
        comp_doors = np.bincount(comp, weights=site_doors, minlength=n_comp)
        comp_label = np.empty(n_comp, dtype=np.int64)
        comp_label[comp] = site_label
        # The main component of each turf is the one with most doors.
        main = {}
        for c in np.argsort(-comp_doors, kind="stable"):
            main.setdefault(int(comp_label[c]), int(c))
        stray = np.ones(n_comp, dtype=bool)
        stray[list(main.values())] = False
        if not stray.any():
            return
        # Count edges from each stray component to other turfs.
        cross = ~same & stray[comp[a]]
        cross_b = ~same & stray[comp[b]]
        src = np.concatenate((comp[a][cross], comp[b][cross_b]))
        dst = np.concatenate((site_label[b][cross], site_label[a][cross_b]))
        if len(src) == 0:
            return
        pairs, counts = np.unique(np.column_stack((src, dst)), axis=0, return_counts=True)
        target_of: dict[int, int] = {}
        best_count: dict[int, int] = {}
        for (c, t), cnt in zip(pairs.tolist(), counts.tolist()):
            if cnt > best_count.get(c, 0):
                best_count[c], target_of[c] = cnt, t
        new_site_label = site_label.copy()
        moved = False
        for c, t in target_of.items():
            new_site_label[comp == c] = t
            moved = True
        if not moved:
            return
        labels[:] = new_site_label[data.site]


def _turf_connected_without(
    site_label: np.ndarray, adjacency: list[list[int]], turf: int, removed: set[int], members: list[int]
) -> bool:
    remaining = [s for s in members if s not in removed]
    if not remaining:
        return False
    seen = {remaining[0]}
    todo = [remaining[0]]
    while todo:
        s = todo.pop()
        for t in adjacency[s]:
            if t not in seen and t not in removed and site_label[t] == turf:
                seen.add(t)
                todo.append(t)
    return len(seen) == len(remaining)


def _improve(data: _Data, labels: np.ndarray, edges, per_turf: float, target: int, n_turfs: int) -> None:
    """Greedy moves of whole sites between neighbouring turfs: first re-join
    split block faces, then fix turfs outside the balance band. A move never
    pushes either turf out of the band and never disconnects the donor."""
    if edges is None:
        return
    a, b = edges
    n_sites = len(data.site_xy)
    adjacency: list[list[int]] = [[] for _ in range(n_sites)]
    for u, v in zip(a.tolist(), b.tolist()):
        adjacency[u].append(v)
        adjacency[v].append(u)
    site_doors = np.bincount(data.site, weights=data.doors, minlength=n_sites).astype(np.int64)
    site_label = _site_labels(data, labels)
    turf_doors = np.bincount(site_label, weights=site_doors, minlength=n_turfs).astype(np.int64)
    members: dict[int, set[int]] = {}
    for s, t in enumerate(site_label.tolist()):
        members.setdefault(t, set()).add(s)
    low, high = _balance_band(per_turf, target)
    single_turf_area = n_turfs == 1

    def move(sites: list[int], src: int, dst: int) -> bool:
        doors = int(site_doors[sites].sum())
        if single_turf_area or src == dst:
            return False
        # The receiving turf must touch what it receives, or it would split.
        if not any(site_label[u] == dst for s in sites for u in adjacency[s]):
            return False
        new_src, new_dst = turf_doors[src] - doors, turf_doors[dst] + doors
        # Moves must not make either side worse than the band allows.
        src_ok = new_src >= low or new_src >= turf_doors[src]
        dst_ok = new_dst <= high or new_dst <= turf_doors[dst]
        if not (src_ok and dst_ok) or new_src <= 0:
            return False
        removed = set(sites)
        if not _turf_connected_without(site_label, adjacency, src, removed, list(members[src])):
            return False
        for s in sites:
            site_label[s] = dst
        members[src] -= removed
        members[dst] |= removed
        turf_doors[src], turf_doors[dst] = new_src, new_dst
        return True

    # 1. Re-join split block faces: move the smaller fragments to the turf
    #    holding most of the face.
    face_of_site = np.full(n_sites, -1)
    real = data.face_real
    face_of_site[data.site[real]] = data.face[real]
    fragments: dict[int, dict[int, list[int]]] = {}
    for s in range(n_sites):
        f = int(face_of_site[s])
        if f >= 0:
            fragments.setdefault(f, {}).setdefault(int(site_label[s]), []).append(s)
    for f in sorted(fragments):
        turfs = fragments[f]
        if len(turfs) < 2:
            continue
        by_size = sorted(turfs, key=lambda t: (-int(site_doors[turfs[t]].sum()), t))
        keeper = by_size[0]
        for t in by_size[1:]:
            move(turfs[t], t, keeper)

    # 2. Balance: turfs outside the band trade border sites with neighbours,
    #    preferably without taking a precinct into a turf that lacks it.
    site_precinct = np.empty(n_sites, dtype=np.int64)
    site_precinct[data.site] = np.where(data.precinct_real, data.precinct, -1)
    for _ in range(3):
        changed = False
        turf_precincts: dict[int, set[int]] = {}
        for s_, t_ in enumerate(site_label.tolist()):
            turf_precincts.setdefault(t_, set()).add(int(site_precinct[s_]))
        for t in np.argsort(-np.abs(turf_doors - per_turf), kind="stable").tolist():
            if low <= turf_doors[t] <= high or t not in members:
                continue
            too_big = turf_doors[t] > high
            border = sorted(
                {(s, int(site_label[u])) for s in members[t] for u in adjacency[s] if site_label[u] != t}
            )
            # Prefer trading within a precinct, then with the neighbour furthest
            # on the other side of the target.
            def crosses(p: tuple[int, int]) -> bool:
                s_, other_ = p
                if too_big:
                    return int(site_precinct[s_]) not in turf_precincts.get(other_, ())
                return not (turf_precincts.get(other_, set()) & turf_precincts.get(t, set()))

            border.sort(key=lambda p: (crosses(p), turf_doors[p[1]] if too_big else -turf_doors[p[1]], p))
            for s, other in border:
                if low <= turf_doors[t] <= high:
                    break
                if too_big:
                    if site_label[s] == t and move([s], t, other):
                        changed = True
                else:
                    # Pull the neighbour's border site(s) touching this turf.
                    for u in adjacency[s]:
                        if site_label[u] == other and move([u], other, t):
                            changed = True
                            break
        if not changed:
            break
    labels[:] = site_label[data.site]


def _balance_band(per_turf: float, target: int, tolerance: float = IMPROVE_TOLERANCE) -> tuple[float, float]:
    """Door range a turf should stay in: +-tolerance around the target, or
    around the area's own doors-per-turf where it cannot reach the target."""
    reference_low = min(float(target), per_turf)
    reference_high = max(float(target), per_turf)
    if per_turf >= target * (1 - tolerance):
        reference_low = float(target)
    if per_turf <= target * (1 + tolerance):
        reference_high = float(target)
    return reference_low * (1 - tolerance), reference_high * (1 + tolerance)


def _renumber(labels: np.ndarray, data: _Data) -> np.ndarray:
    """Number turfs west-to-east, north-to-south by centroid, for stable output."""
    uniq, inverse = np.unique(labels, return_inverse=True)
    w = data.doors.astype(float)
    cx = np.bincount(inverse, weights=data.xy[:, 0] * w) / np.bincount(inverse, weights=w)
    cy = np.bincount(inverse, weights=data.xy[:, 1] * w) / np.bincount(inverse, weights=w)
    # 400 m bands from north to south, west to east within a band.
    band = np.floor(-cy / 400.0)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.lexsort((cx, band))] = np.arange(len(uniq))
    return rank[inverse]


# --------------------------------------------------------------------------
# Polygons and quality


def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    polys = []
    for p in parts:
        polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _clip_region(data: _Data, boundary: BaseGeometry | None) -> BaseGeometry:
    """Area turf polygons are clipped to, in metres."""
    sites = data.site_xy
    if boundary is None:
        return MultiPoint(sites).convex_hull.buffer(HULL_MARGIN_M)
    region = data.frame.geometry_forward(boundary)
    if not region.is_valid:
        region = shapely.make_valid(region)
    outside = ~shapely.intersects_xy(region, sites[:, 0], sites[:, 1])
    if outside.any():
        # Doors outside the boundary (geocoding noise) keep a patch of their
        # own cell so their turf still covers them.
        region = shapely.union(region, MultiPoint(sites[outside]).buffer(OUTSIDE_BUFFER_M))
    return region


def _voronoi_cells(data: _Data, region: BaseGeometry) -> np.ndarray:
    sites = data.site_xy
    if len(sites) == 1:
        return np.array([region], dtype=object)
    minx, miny, maxx, maxy = shapely.union(region, MultiPoint(sites).envelope).bounds
    span = max(maxx - minx, maxy - miny, 1.0)
    envelope = shapely.box(minx - span, miny - span, maxx + span, maxy + span)
    cells = shapely.voronoi_polygons(MultiPoint(sites), extend_to=envelope, ordered=True)
    return np.array(shapely.get_parts(cells), dtype=object)


def _dissolve(pieces: Sequence[BaseGeometry], region: BaseGeometry, *, exact_coverage: bool = True):
    if len(pieces) == 0:
        return Polygon()
    if len(pieces) == 1:
        merged = pieces[0]
    elif exact_coverage:
        # Untouched Voronoi cells tile exactly: the fast coverage union is safe.
        merged = shapely.coverage_union_all(pieces)
    else:
        merged = shapely.union_all(pieces)
    if not region.contains(merged):
        merged = shapely.intersection(merged, region)
    return _polygonal(merged)


def _turf_polygons(
    data: _Data, site_label: np.ndarray, n_turfs: int, region: BaseGeometry, low: float, high: float
):
    """Voronoi cells per site, dissolved per turf and clipped to the region
    (metres). Clipping to a concave boundary can cut a turf in pieces: small
    detached pieces go to the turf they border most, with their buildings, or
    on their own when they hold none (then the piece is cut out of the cells
    it came from, so no two turfs ever share area).
    Updates site_label in place; returns the polygons."""
    cells = _voronoi_cells(data, region)
    shapely.prepare(region)
    members = [np.flatnonzero(site_label == t) for t in range(n_turfs)]
    polygons = [_dissolve(cells[m], region) for m in members]
    if len(cells) == 1:
        return polygons
    site_doors = np.bincount(data.site, weights=data.doors, minlength=len(data.site_xy))
    turf_doors = np.bincount(site_label, weights=site_doors, minlength=n_turfs)
    trimmed = np.zeros(len(cells), dtype=bool)
    orphans: list[tuple[BaseGeometry, int]] = []  # (piece, owning turf)

    def redraw(t: int) -> Polygon | MultiPolygon:
        own = [g for g, owner in orphans if owner == t]
        exact = not own and not trimmed[members[t]].any()
        return _dissolve(list(cells[members[t]]) + own, region, exact_coverage=exact)

    for _ in range(3):
        dirty: set[int] = set()
        tree = shapely.STRtree(polygons)
        for t in range(n_turfs):
            poly = polygons[t]
            if not isinstance(poly, MultiPolygon) or t in dirty:
                continue
            parts = list(poly.geoms)
            own = members[t]
            inside = [shapely.intersects_xy(part, data.site_xy[own, 0], data.site_xy[own, 1]) for part in parts]
            part_doors = [float(site_doors[own[m]].sum()) for m in inside]
            main = max(range(len(parts)), key=lambda i: (part_doors[i], parts[i].area))
            for i, part in enumerate(parts):
                if i == main or part_doors[i] > DETACHED_SHARE * sum(part_doors):
                    continue
                moved = own[inside[i]]
                moved_doors = float(site_doors[moved].sum())
                # Prefer a neighbour with room for the doors, then the longest shared border.
                best, best_key = None, None
                for other in tree.query(part, predicate="intersects").tolist():
                    if other == t or other in dirty:
                        continue
                    shared = shapely.intersection(part.boundary, polygons[other]).length
                    if shared <= 0:
                        continue
                    fits = turf_doors[other] + moved_doors <= high and turf_doors[t] - moved_doors >= low
                    key = (fits, shared)
                    if best_key is None or key > best_key:
                        best, best_key = other, key
                if best is None or (len(moved) and not best_key[0]):
                    continue  # balance is the harder promise
                if len(moved) == 0:
                    # A piece of cells cut off by the boundary, with no door in it.
                    for site in own.tolist():
                        if shapely.intersects(cells[site], part):
                            cells[site] = shapely.difference(cells[site], part)
                            trimmed[site] = True
                    orphans[:] = [(shapely.difference(g, part), o) if o == t else (g, o) for g, o in orphans]
                    orphans.append((part, best))
                else:
                    site_label[moved] = best
                    turf_doors[t] -= moved_doors
                    turf_doors[best] += moved_doors
                dirty.update((t, best))
        if not dirty:
            break
        for t in dirty:
            members[t] = np.flatnonzero(site_label == t)
            polygons[t] = redraw(t)
    return polygons


def _polsby_popper(geom: BaseGeometry) -> float:
    perimeter = geom.length
    return 0.0 if perimeter <= 0 else float(4 * math.pi * geom.area / perimeter**2)


def _route_length(data: _Data, members: np.ndarray) -> float:
    stops = [
        Stop(
            key=int(i), building_id=data.items[i].building_id, lon=data.items[i].lon, lat=data.items[i].lat,
            street=data.items[i].street, block=data.items[i].block, side=data.items[i].side,
        )
        for i in members.tolist()
    ]
    return route_length_m(order_stops(stops))


def _build_result(
    data: _Data, labels: np.ndarray, target: int, region: BaseGeometry, measure_routes: bool
) -> CutResult:
    labels = _renumber(labels, data)
    n_turfs = int(labels.max()) + 1
    site_label = _site_labels(data, labels)
    per_turf = float(data.doors.sum()) / n_turfs
    low, high = _balance_band(per_turf, target, BALANCE_TOLERANCE)
    polygons_m = _turf_polygons(data, site_label, n_turfs, region, low, high)
    labels = site_label[data.site]

    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_turfs + 1))
    turfs, compactness, hull_compactness, routes = [], [], [], []
    for t in range(n_turfs):
        members = np.sort(order[bounds[t] : bounds[t + 1]])
        precincts = sorted({data.items[i].precinct for i in members.tolist() if data.items[i].precinct is not None})
        turfs.append(
            CutTurf(
                index=t,
                building_ids=[data.items[i].building_id for i in members.tolist()],
                door_count=int(data.doors[members].sum()),
                polygon=_polygonal(data.frame.geometry_back(polygons_m[t])),
                precincts=precincts,
            )
        )
        compactness.append(_polsby_popper(polygons_m[t]))
        pts = data.xy[members]
        hull = MultiPoint(pts).convex_hull if len(pts) >= 3 else None
        hull_compactness.append(_polsby_popper(hull) if hull is not None and hull.area > 0 else 0.0)
        if measure_routes:
            routes.append(_route_length(data, members))

    doors = np.array([t.door_count for t in turfs], dtype=float)
    deviation = np.abs(doors - target) / target
    face_turfs = {}
    precinct_turfs = {}
    for i, b in enumerate(data.items):
        if data.face_real[i]:
            face_turfs.setdefault(int(data.face[i]), set()).add(int(labels[i]))
        if b.precinct is not None:
            precinct_turfs.setdefault(b.precinct, set()).add(int(labels[i]))
    quality = CutQuality(
        turf_count=n_turfs,
        target=target,
        mean_doors=float(doors.mean()),
        min_doors=int(doors.min()),
        max_doors=int(doors.max()),
        max_abs_deviation_pct=float(deviation.max() * 100),
        share_within_15pct=float((deviation <= BALANCE_TOLERANCE + 1e-9).mean()),
        mean_compactness=float(np.mean(compactness)),
        mean_hull_compactness=float(np.mean(hull_compactness)),
        mean_route_length_m=float(np.mean(routes)) if routes else float("nan"),
        total_route_length_m=float(np.sum(routes)) if routes else float("nan"),
        split_block_faces=sum(1 for s in face_turfs.values() if len(s) > 1),
        split_precincts=sum(1 for s in precinct_turfs.values() if len(s) > 1),
        disconnected_turfs=sum(1 for t in turfs if isinstance(t.polygon, MultiPolygon)),
    )
    return CutResult(turfs=turfs, quality=quality)


# --------------------------------------------------------------------------
# Public API


def cut_turfs(
    buildings: Iterable[Building],
    *,
    target_doors: int,
    boundary: BaseGeometry | None = None,
    measure_routes: bool = True,
) -> CutResult:
    """Cut buildings into contiguous, compact turfs of about `target_doors` doors.

    Every building lands in exactly one turf and is never split. `boundary`
    (lon/lat polygon of the ward or precinct set) clips the turf polygons; without
    it they are clipped to the buildings' hull plus 60 m. `measure_routes=False`
    skips the walk-order route lengths in the quality report (faster).
    Raises CutError (a ValueError) with code "invalid_target", "no_households",
    "duplicate_building" or "invalid_building".
    """
    target = _validate_target(target_doors)
    items = _validate_buildings(buildings)
    data = _prepare(items)
    n = len(items)
    labels = np.full(n, -1, dtype=np.int64)
    next_label = [0]

    # A building that fills a turf on its own is a turf on its own.
    own_turf = data.doors >= target * (1 - BALANCE_TOLERANCE)
    for i in np.flatnonzero(own_turf):
        labels[i] = next_label[0]
        next_label[0] += 1

    region = _clip_region(data, boundary)
    edges = _site_graph(data, region)
    groups = _precinct_groups(data, edges, target, ~own_turf)
    rest_doors = float(data.doors[~own_turf].sum())
    per_turf = rest_doors / max(1, sum(k for _, k in groups)) if rest_doors else float(target)
    connectivity = _Connectivity(data, edges)
    for members, k in groups:
        if len(members):
            group_per_turf = float(data.doors[members].sum()) / k
            slack = abs(group_per_turf - target) / target
            _bisect(data, members, k, group_per_turf, slack, labels, next_label, connectivity)
    n_turfs = next_label[0]

    _unify_sites(data, labels)
    _repair_contiguity(data, labels, edges)
    _improve(data, labels, edges, per_turf, target, n_turfs)
    _repair_contiguity(data, labels, edges)
    # Labels may have gaps if a turf was emptied; _renumber compacts them.
    return _build_result(data, labels, target, region, measure_routes)


def turfs_from_assignment(
    buildings: Sequence[Building],
    assignment: Sequence[int],
    *,
    target_doors: int,
    boundary: BaseGeometry | None = None,
    measure_routes: bool = True,
) -> CutResult:
    """Polygons and quality for a given building -> turf assignment (any ints),
    e.g. after manual edits or for comparing another clustering method."""
    target = _validate_target(target_doors)
    given = list(buildings)
    labels = np.asarray(assignment, dtype=np.int64)
    if labels.shape != (len(given),):
        raise CutError("invalid_assignment", "assignment must give one turf per building")
    items = _validate_buildings(given)
    # Buildings are processed sorted by id; carry the labels along.
    order = sorted(range(len(given)), key=lambda i: given[i].building_id)
    labels = labels[order].copy()
    data = _prepare(items)
    _unify_sites(data, labels)
    return _build_result(data, labels, target, _clip_region(data, boundary), measure_routes)
