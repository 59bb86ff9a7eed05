"""Turf cutting vs a plain size-constrained clustering baseline.

`python -m bench.bench_cutting` (or `python -m bench cutting`): ~25,000 seeded
synthetic households in a real ward, grouped into buildings, precincts by
point-in-polygon on the real 2023 precincts, then

* ours: canvass.turfs.cutting.cut_turfs(target_doors=100), timed;
* baseline: k_means_constrained.KMeansConstrained on the household points with
  the same number of turfs and sizes within +-15% (the usual "balanced
  clustering" answer), buildings going to the cluster most of their doors are
  in; falls back to scipy.cluster.vq.kmeans2 (unconstrained) when the package
  is not installed.

Both assignments are scored by the same code (turfs_from_assignment): balance,
Polsby-Popper compactness, walk-order route length, split block faces and
precincts. Reads the real Chicago files in tests/data/chicago.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import numpy as np
import shapely
from shapely.geometry import shape

from bench.common import CHICAGO
from canvass.geo.addresses import parse_street_address
from canvass.geo.synthetic import generate_households
from canvass.turfs.cutting import Building, CutResult, cut_turfs, turfs_from_assignment


def load_ward(ward: str):
    features = json.loads((CHICAGO / "wards_2023.geojson").read_text())["features"]
    for feature in features:
        if str(feature["properties"]["ward"]) == str(ward):
            return shape(feature["geometry"])
    raise SystemExit(f"ward {ward} not in wards_2023.geojson")


def load_precincts() -> tuple[list, list[str]]:
    features = json.loads((CHICAGO / "precincts_2023.geojson").read_text())["features"]
    geoms, keys = [], []
    for feature in features:
        props = feature["properties"]
        geoms.append(shape(feature["geometry"]))
        keys.append(f"{int(props['FIRST_ward']):02d}{int(props['FIRST_prec']):03d}")
    return geoms, keys


def synthetic_buildings(ward_geometry, *, households: int, seed: int):
    """Buildings (one per address) and household points from synthetic rows."""
    by_address: dict[str, dict] = {}
    for row in generate_households(ward_geometry, count=households, seed=seed):
        entry = by_address.setdefault(
            row["address"], {"lon": float(row["longitude"]), "lat": float(row["latitude"]), "units": set()}
        )
        entry["units"].add(row["unit"])
    addresses = sorted(by_address)
    lon = np.array([by_address[a]["lon"] for a in addresses])
    lat = np.array([by_address[a]["lat"] for a in addresses])

    geoms, keys = load_precincts()
    tree = shapely.STRtree(geoms)
    point_idx, precinct_idx = tree.query(shapely.points(lon, lat), predicate="within")
    precinct = [None] * len(addresses)
    for p, q in zip(point_idx.tolist(), precinct_idx.tolist()):
        precinct[p] = keys[q]

    buildings = []
    household_building = []
    for i, address in enumerate(addresses):
        parsed = parse_street_address(address)
        units = len(by_address[address]["units"])
        buildings.append(
            Building(
                building_id=i + 1,
                lon=float(lon[i]),
                lat=float(lat[i]),
                doors=units,
                precinct=precinct[i],
                street=parsed.street if parsed else None,
                block=parsed.block if parsed else None,
                side=parsed.side if parsed else None,
            )
        )
        household_building.extend([i] * units)
    return buildings, np.array(household_building)


def _metric(buildings: list[Building]) -> np.ndarray:
    lon = np.array([b.lon for b in buildings])
    lat = np.array([b.lat for b in buildings])
    k = np.pi / 180 * 6_371_008.8
    return np.column_stack(((lon - lon.mean()) * k * np.cos(np.radians(lat.mean())), (lat - lat.mean()) * k))


def baseline_labels(buildings, household_building, *, k: int, seed: int, max_iter: int) -> tuple[np.ndarray, str]:
    """Cluster household points into k groups; each building joins its majority cluster."""
    xy = _metric(buildings)
    # Units of a building share its point; spread them by a few cm so the
    # clustering sees distinct households without moving anyone.
    rng = np.random.default_rng(seed)
    points = xy[household_building] + rng.normal(scale=0.05, size=(len(household_building), 2))
    mean = len(points) / k
    try:
        from k_means_constrained import KMeansConstrained
    except ImportError:
        from scipy.cluster.vq import kmeans2

        _, household_labels = kmeans2(points, k, minit="++", rng=seed)
        method = "scipy kmeans2 (unconstrained)"
    else:
        model = KMeansConstrained(
            n_clusters=k,
            size_min=int(np.floor(mean * 0.85)),
            size_max=int(np.ceil(mean * 1.15)),
            random_state=seed,
            n_init=1,
            max_iter=max_iter,
        )
        household_labels = model.fit_predict(points)
        method = f"KMeansConstrained (+-15% sizes, n_init=1, max_iter={max_iter})"
    labels = np.empty(len(buildings), dtype=np.int64)
    votes: dict[int, Counter] = {}
    for b, label in zip(household_building.tolist(), np.asarray(household_labels).tolist()):
        votes.setdefault(b, Counter())[label] += 1
    for b, counter in votes.items():
        labels[b] = min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return labels, method


def _row(result: CutResult, seconds: float) -> dict:
    q = result.quality
    return {
        "seconds": round(seconds, 3),
        "turfs": q.turf_count,
        "share_within_15pct": round(q.share_within_15pct, 4),
        "max_abs_deviation_pct": round(q.max_abs_deviation_pct, 1),
        "min_doors": q.min_doors,
        "max_doors": q.max_doors,
        "mean_compactness_polygon_pp": round(q.mean_compactness, 3),
        "mean_compactness_hull_pp": round(q.mean_hull_compactness, 3),
        "mean_route_length_m": round(q.mean_route_length_m, 1),
        "total_route_length_km": round(q.total_route_length_m / 1000, 2),
        "split_block_faces": q.split_block_faces,
        "split_precincts": q.split_precincts,
        "disconnected_turfs": q.disconnected_turfs,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ward", default="33")
    parser.add_argument("--households", type=int, default=25_000)
    parser.add_argument("--target", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--baseline-max-iter", type=int, default=10)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])

    ward = load_ward(args.ward)
    started = time.perf_counter()
    buildings, household_building = synthetic_buildings(ward, households=args.households, seed=args.seed)
    prep_seconds = time.perf_counter() - started
    doors = sum(b.doors for b in buildings)
    precincts = len({b.precinct for b in buildings if b.precinct})
    print(
        f"ward {args.ward}: {doors:,} households in {len(buildings):,} buildings, {precincts} precincts "
        f"(generated and assigned in {prep_seconds:.1f} s); target {args.target} doors/turf\n"
    )

    started = time.perf_counter()
    ours = cut_turfs(buildings, target_doors=args.target, boundary=ward)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cut_turfs(buildings, target_doors=args.target, boundary=ward, measure_routes=False)
    ours_no_routes = time.perf_counter() - started
    results = {
        "ward": args.ward,
        "households": doors,
        "buildings": len(buildings),
        "precincts": precincts,
        "target": args.target,
        "cut_turfs": _row(ours, ours_seconds) | {"seconds_without_route_metrics": round(ours_no_routes, 3)},
    }

    if not args.no_baseline:
        k = ours.quality.turf_count
        started = time.perf_counter()
        labels, method = baseline_labels(
            buildings, household_building, k=k, seed=args.seed, max_iter=args.baseline_max_iter
        )
        baseline_seconds = time.perf_counter() - started
        baseline = turfs_from_assignment(buildings, labels, target_doors=args.target, boundary=ward)
        results["baseline"] = _row(baseline, baseline_seconds) | {"method": method}

    metrics = [k for k in results["cut_turfs"] if k != "seconds_without_route_metrics"]
    headers = ["metric", "cut_turfs"] + (["baseline"] if "baseline" in results else [])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for metric in metrics:
        cells = [metric, str(results["cut_turfs"][metric])]
        if "baseline" in results:
            cells.append(str(results["baseline"][metric]))
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    print(f"\ncut_turfs without route metrics: {ours_no_routes:.2f} s")
    if "baseline" in results:
        print(f"baseline: {results['baseline']['method']}; seconds = clustering only")
    return results


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
