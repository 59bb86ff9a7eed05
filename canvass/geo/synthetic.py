"""Seeded synthetic households laid out on a Chicago-style street grid.

For demos and benchmarks: rows look like a voter/household import file (one row
per person) and sit on plausible addresses inside a real ward polygon.

The grid follows Chicago's: State St (east/west origin) and Madison St
(north/south origin), 800 house numbers per mile, a street every 100 numbers
(1/8 mile), even numbers on the north side of east-west streets and on the west
side of north-south streets.
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["COLUMNS", "generate_households", "write_households_csv"]

COLUMNS = (
    "external_id", "address", "unit", "city", "state", "zip",
    "latitude", "longitude", "first_name", "last_name", "phone", "email",
)

# State & Madison, the zero point of Chicago's address grid.
ORIGIN_LAT = 41.88203
ORIGIN_LON = -87.62784
NUMBERS_PER_MILE = 800
MILES_PER_DEG_LAT = 69.05
MILES_PER_DEG_LON = 69.17 * math.cos(math.radians(ORIGIN_LAT))

BLOCK = 100  # house numbers between two grid streets
MAX_LOTS_PER_FACE = 40  # ~25 ft Chicago lots on a 1/8-mile block face
SETBACK = 10.0  # building centre to street centreline, in grid numbers (~66 ft)
FACE_MARGIN = 0.1  # keep corners free so the two streets' lots don't collide

# Building mix of a Chicago residential ward: (units, probability); 0 = 4-6
# units, -1 = courtyard building (12-30 units).
BUILDING_MIX = ((1, 0.35), (2, 0.26), (3, 0.15), (0, 0.21), (-1, 0.03))
MEAN_UNITS = 0.35 * 1 + 0.26 * 2 + 0.15 * 3 + 0.21 * 5 + 0.03 * 21
HOUSEHOLD_SIZES = ((1, 0.36), (2, 0.34), (3, 0.16), (4, 0.14))
PHONE_SHARE = 0.7
EMAIL_SHARE = 0.5

# Real Chicago streets at grid positions (house number of the street line).
NS_STREETS = {
    0: "State St", -100: "Clark St", -200: "Wells St", -300: "Franklin St",
    -400: "Sedgwick St", -600: "Jefferson St", -800: "Halsted St",
    -1000: "Morgan St", -1200: "Racine Ave", -1400: "Loomis St",
    -1600: "Ashland Ave", -1800: "Wood St", -2000: "Damen Ave",
    -2200: "Leavitt St", -2400: "Western Ave", -2600: "Rockwell St",
    -2800: "California Ave", -3000: "Sacramento Ave", -3200: "Kedzie Ave",
    -3400: "Homan Ave", -3600: "Central Park Ave", -3800: "Hamlin Ave",
    -4000: "Pulaski Rd", -4200: "Keeler Ave", -4400: "Kostner Ave",
    -4800: "Cicero Ave", -5200: "Laramie Ave", -5600: "Central Ave",
    -6000: "Austin Ave", -6400: "Oak Park Ave", -7200: "Harlem Ave",
    100: "Michigan Ave", 800: "Cottage Grove Ave", 1200: "Woodlawn Ave",
    1400: "Dorchester Ave", 1600: "Stony Island Ave", 2000: "Jeffery Blvd",
    2400: "Yates Blvd",
}
EW_STREETS = {
    0: "Madison St", 400: "Kinzie St", 800: "Chicago Ave", 1000: "Augusta Blvd",
    1200: "Division St", 1600: "North Ave", 2000: "Armitage Ave",
    2200: "Webster Ave", 2400: "Fullerton Ave", 2600: "Wrightwood Ave",
    2800: "Diversey Pkwy", 3000: "Wellington Ave", 3200: "Belmont Ave",
    3400: "Roscoe St", 3600: "Addison St", 3800: "Grace St",
    4000: "Irving Park Rd", 4200: "Berteau Ave", 4400: "Montrose Ave",
    4600: "Wilson Ave", 4800: "Lawrence Ave", 5000: "Argyle St",
    5200: "Foster Ave", 5400: "Balmoral Ave", 5600: "Bryn Mawr Ave",
    5800: "Thorndale Ave", 6000: "Peterson Ave", 6200: "Granville Ave",
    6400: "Devon Ave", 6600: "Albion Ave", 6800: "Pratt Blvd",
    7000: "Estes Ave", 7200: "Touhy Ave", 7400: "Jarvis Ave",
    7600: "Howard St", -400: "Van Buren St", -800: "Polk St",
    -1000: "Taylor St", -1200: "Roosevelt Rd", -2200: "Cermak Rd",
    -3900: "Pershing Rd", -5500: "Garfield Blvd",
}
NS_NAMES = (
    "Wolcott", "Winchester", "Hermitage", "Paulina", "Marshfield", "Honore",
    "Hoyne", "Oakley", "Claremont", "Bell", "Artesian", "Campbell", "Maplewood",
    "Talman", "Fairfield", "Richmond", "Whipple", "Albany", "Troy", "Francisco",
    "Mozart", "Spaulding", "Christiana", "Drake", "Lawndale", "Ridgeway",
    "Springfield", "Harding", "Keystone", "Karlov", "Kildare", "Kolmar",
    "Kenneth", "Lavergne", "Leclaire", "Lamon", "Lockwood", "Menard", "Mason",
    "Parkside", "Greenview", "Glenwood", "Magnolia", "Lakewood", "Seminary",
    "Kenmore", "Winthrop", "Sheffield", "Wayne", "Southport", "Janssen",
    "Bosworth", "Ravenswood", "Justine", "Throop", "Elizabeth", "Carpenter",
    "Aberdeen", "May", "Sangamon", "Peoria", "Green", "Union", "Emerald",
)
EW_NAMES = (
    "Cortland", "Wabansia", "Concord", "Willow", "Dickens", "Belden", "Altgeld",
    "Montana", "Schubert", "George", "Wolfram", "Barry", "Nelson", "Melrose",
    "Cornelia", "Newport", "Eddy", "Waveland", "Byron", "Cuyler", "Pensacola",
    "Cullom", "Sunnyside", "Agatha", "Leland", "Ainslie", "Winona", "Carmen",
    "Berwyn", "Summerdale", "Catalpa", "Hollywood", "Ardmore", "Rosedale",
    "Glenlake", "Hood", "Thome", "Highland", "Arthur", "Farwell", "Lunt",
    "Morse", "Greenleaf", "Fargo", "Chase", "Sherwin", "Birchwood", "Rascher",
    "Gunnison", "Huron", "Superior", "Ontario", "Erie", "Hubbard", "Carroll",
    "Fulton", "Walnut", "Warren", "Monroe", "Adams", "Jackson", "Flournoy",
    "Lexington", "Fillmore", "Grenshaw", "Arthington", "Maxwell", "Hastings",
)
MINOR_SUFFIXES = ("Ave", "St", "Ave", "St", "Ave", "Pl", "St", "Ct")

FIRST_NAMES = (
    "Maria", "James", "Jose", "Mary", "Michael", "Patricia", "Robert", "Linda",
    "John", "Jennifer", "David", "Elizabeth", "William", "Barbara", "Richard",
    "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen", "Juan",
    "Nancy", "Daniel", "Lisa", "Luis", "Betty", "Anthony", "Margaret", "Mark",
    "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Dorothy", "Brian",
    "Carol", "George", "Amanda", "Edward", "Melissa", "Ronald", "Deborah",
    "Timothy", "Stephanie", "Jason", "Rebecca", "Jeffrey", "Laura", "Ryan",
    "Sharon", "Jacob", "Cynthia", "Gary", "Kathleen", "Nicholas", "Amy", "Eric",
    "Shirley", "Jonathan", "Angela", "Stephen", "Helen", "Larry", "Anna",
    "Justin", "Brenda", "Scott", "Pamela", "Brandon", "Nicole", "Frank", "Emma",
    "Benjamin", "Samantha", "Gregory", "Katherine", "Samuel", "Christine",
    "Raymond", "Debra", "Patrick", "Rachel", "Alexander", "Catherine", "Jack",
    "Carolyn", "Dennis", "Janet", "Jerry", "Ruth", "Tyler", "Maria Elena",
    "Guadalupe", "Miguel", "Rosa", "Jesus", "Ana", "Wei", "Mei", "Olga",
    "Tomasz", "Anna Maria", "Darnell", "Keisha", "Tyrone", "Latoya", "Andre",
    "Aaliyah", "Malik", "Imani", "Mohammed", "Fatima", "Priya", "Raj",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
    "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
    "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
    "Roberts", "Kowalski", "Nowak", "Wisniewski", "Wojcik", "Kaminski",
    "Lewandowski", "Zielinski", "Murphy", "Kelly", "O'Brien", "Sullivan",
    "Walsh", "O'Connor", "Byrne", "Daley", "Washington", "Jefferson", "Brooks",
    "Sanders", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson",
    "Coleman", "Jenkins", "Perry", "Powell", "Long", "Patterson", "Hughes",
    "Chen", "Wang", "Li", "Zhang", "Liu", "Kim", "Park", "Patel", "Shah",
    "Khan", "Ali", "Ahmed", "Castillo", "Morales", "Ortiz", "Gutierrez",
    "Chavez", "Ramos", "Reyes", "Cruz", "Mendoza", "Vargas", "Castro",
    "Jimenez", "Ruiz", "Alvarez", "Romero", "Petrov", "Ivanov", "Novak",
    "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Russo", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Papadopoulos",
)
AREA_CODES = ("773", "312", "872")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
CHICAGO_ZIPS = (
    "60601", "60605", "60607", "60608", "60609", "60610", "60611", "60612",
    "60613", "60614", "60615", "60616", "60617", "60618", "60619", "60620",
    "60621", "60622", "60623", "60624", "60625", "60626", "60628", "60629",
    "60630", "60631", "60632", "60634", "60636", "60637", "60638", "60639",
    "60640", "60641", "60643", "60644", "60645", "60646", "60647", "60649",
    "60651", "60652", "60653", "60655", "60656", "60657", "60659", "60660",
)


def _to_grid(lon, lat):
    """lon/lat -> Chicago grid house-number coordinates (x east, y north)."""
    x = (np.asarray(lon) - ORIGIN_LON) * MILES_PER_DEG_LON * NUMBERS_PER_MILE
    y = (np.asarray(lat) - ORIGIN_LAT) * MILES_PER_DEG_LAT * NUMBERS_PER_MILE
    return x, y


def _from_grid(x, y):
    lon = ORIGIN_LON + np.asarray(x) / (MILES_PER_DEG_LON * NUMBERS_PER_MILE)
    lat = ORIGIN_LAT + np.asarray(y) / (MILES_PER_DEG_LAT * NUMBERS_PER_MILE)
    return lon, lat


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _stable_index(a: int, b: int, size: int) -> int:
    # Python's hash() is salted per process; this one is not.
    return ((a * 73856093) ^ (b * 19349663)) % size


def _ns_street_name(position: int) -> str:
    """Name of the north-south street at grid x = position (e.g. -1600)."""
    if position in NS_STREETS:
        return NS_STREETS[position]
    k = position // BLOCK
    base = NS_NAMES[k % len(NS_NAMES)]
    return f"{base} {MINOR_SUFFIXES[_stable_index(k, 1, len(MINOR_SUFFIXES))]}"


def _ew_street_name(position: int) -> str:
    """Name of the east-west street at grid y = position (e.g. 3600)."""
    if position in EW_STREETS:
        return EW_STREETS[position]
    if position <= -1300:
        # South of Roosevelt, Chicago's east-west streets are numbered.
        return f"{_ordinal(-position // BLOCK)} St"
    k = position // BLOCK
    base = EW_NAMES[k % len(EW_NAMES)]
    return f"{base} {MINOR_SUFFIXES[_stable_index(k, 2, len(MINOR_SUFFIXES))]}"


def _candidate_lots(grid_ward, lots_per_face: int) -> dict[str, np.ndarray]:
    """All lot positions on grid block faces for the given density, inside the ward."""
    minx, miny, maxx, maxy = grid_ward.bounds
    xs = np.arange(math.floor(minx / BLOCK), math.ceil(maxx / BLOCK) + 1) * BLOCK
    ys = np.arange(math.floor(miny / BLOCK), math.ceil(maxy / BLOCK) + 1) * BLOCK
    t = FACE_MARGIN + (1 - 2 * FACE_MARGIN) * (np.arange(lots_per_face) + 0.5) / lots_per_face
    parts = []
    # East-west streets (orientation 0): line at y, segment starting at x.
    for orientation, lines, segs in ((0, ys, xs[:-1]), (1, xs, ys[:-1])):
        line, seg, side, tt = np.meshgrid(lines, segs, np.array([0, 1]), t, indexing="ij")
        line, seg, side, tt = (a.ravel() for a in (line, seg, side, tt))
        along = seg + tt * BLOCK
        # side 0 = even: north of an E-W street, west of a N-S street.
        offset = np.where(side == 0, SETBACK, -SETBACK)
        if orientation == 0:
            x, y = along, line + offset
        else:
            x, y = line - offset, along
        parts.append((np.full(line.shape, orientation), line, seg, side, tt, x, y))
    cols = [np.concatenate(c) for c in zip(*parts)]
    names = ("orientation", "line", "seg", "side", "t", "x", "y")
    lots = dict(zip(names, cols))
    inside = shapely.contains_xy(grid_ward, lots["x"], lots["y"])
    return {k: v[inside] for k, v in lots.items()}


def _plan_lots(grid_ward, count: int, rng: np.random.Generator):
    """Choose lots and unit counts so the units add up to exactly `count`."""
    needed = math.ceil(count / MEAN_UNITS * 1.08) + 1  # slack: some lots stay vacant
    full = _candidate_lots(grid_ward, MAX_LOTS_PER_FACE)
    available = len(full["x"])
    if available == 0:
        raise ValueError("ward geometry is too small to hold a single block face")
    if needed >= available:
        lots, per_face = full, MAX_LOTS_PER_FACE
    else:
        per_face = max(1, math.ceil(MAX_LOTS_PER_FACE * needed / available))
        lots = _candidate_lots(grid_ward, per_face)
        while len(lots["x"]) < needed and per_face < MAX_LOTS_PER_FACE:
            per_face += 1
            lots = _candidate_lots(grid_ward, per_face)
    n = len(lots["x"])
    if n == 0:
        lots, per_face, n = full, MAX_LOTS_PER_FACE, available

    kinds = np.array([k for k, _ in BUILDING_MIX])
    probs = np.array([p for _, p in BUILDING_MIX])
    kind = rng.choice(kinds, size=n, p=probs / probs.sum())
    units = np.where(kind > 0, kind, 0)
    units = np.where(kind == 0, rng.integers(4, 7, size=n), units)
    units = np.where(kind == -1, rng.integers(12, 31, size=n), units)
    # More households than the ward's lots hold at Chicago density: scale
    # buildings up (mid-rises) rather than stacking addresses on one spot.
    scale = max(1, math.ceil(needed / n))
    units = units * scale

    total = int(units.sum())
    if total < count:
        np.add.at(units, rng.integers(0, n, size=count - total), 1)
    elif total > count:
        # Leave random lots vacant until the total matches exactly.
        order = rng.permutation(n)
        cum = np.cumsum(units[order])
        excess = total - count
        k = int(np.searchsorted(cum, excess))
        units[order[:k]] = 0
        units[order[k]] = cum[k] - excess
    keep = units > 0
    lots = {key: v[keep] for key, v in lots.items()}
    lots["units"] = units[keep]
    return lots


def _unit_names(units: int, rng: random.Random) -> list[str]:
    """Unit labels in the styles Chicago buildings use."""
    if units == 1:
        return [""]
    style = rng.random()
    if units == 2:
        return ["1", "2"] if style < 0.75 else ["1F", "2F"]
    if units == 3:
        return ["1", "2", "3"] if style < 0.6 else ["G", "1", "2"]
    if units <= 6:
        if style < 0.55:
            return [f"{floor}{fr}" for floor in range(1, 4) for fr in "FR"][:units]
        if style < 0.85:
            return [str(i) for i in range(1, units + 1)]
        return ["G"] + [str(i) for i in range(1, units)]
    if units <= 30:
        # Courtyard building: three floors, stairways lettered A, B, C...
        per_floor = math.ceil(units / 3)
        if style < 0.5:
            names = [f"{floor}{chr(65 + i)}" for floor in range(1, 4) for i in range(per_floor)]
        else:
            names = [f"{floor}{i + 1:02d}" for floor in range(1, 4) for i in range(per_floor)]
        return names[:units]
    # Scaled-up mid-rise: ten units a floor.
    return [f"{i // 10 + 1}{i % 10 + 1:02d}" for i in range(units)]


def generate_households(
    ward_geometry: BaseGeometry,
    *,
    count: int,
    seed: int,
    city: str = "Chicago",
    state: str = "IL",
    zip_code: str | None = None,
    id_prefix: str = "syn",
) -> Iterator[dict[str, str]]:
    """Yield one CSV row (dict of str, keys = COLUMNS) per person for exactly
    `count` households inside `ward_geometry` (lon/lat polygon).

    A household is (address, unit); it has 1-4 people. Buildings sit on both
    sides of grid streets, odd numbers on one side and even on the other, in a
    Chicago mix of single-family homes, two- and three-flats, 4-6 flats and a
    few courtyard buildings. Same seed and arguments -> same rows. Lazy: only
    per-lot arrays are kept in memory, never the rows.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    if count == 0:
        return
    np_rng = np.random.default_rng(seed)
    rng = random.Random(seed)
    grid_ward = shapely.transform(ward_geometry, lambda c: np.column_stack(_to_grid(c[:, 0], c[:, 1])))
    shapely.prepare(grid_ward)
    lots = _plan_lots(grid_ward, count, np_rng)

    n = len(lots["x"])
    # Small jitter so buildings do not sit on a perfect lattice.
    along_jitter = np_rng.uniform(-0.4, 0.4, size=n)
    across_jitter = np_rng.uniform(-1.5, 1.5, size=n)
    x = lots["x"] + np.where(lots["orientation"] == 0, along_jitter, across_jitter)
    y = lots["y"] + np.where(lots["orientation"] == 0, across_jitter, along_jitter)
    # Jitter must not push a building across the ward line.
    outside = ~shapely.contains_xy(grid_ward, x, y)
    x[outside], y[outside] = lots["x"][outside], lots["y"][outside]
    lon, lat = _from_grid(x, y)
    # Numbers count away from the origin: west/south of it a segment runs
    # toward lower numbers, so measure the lot from the block's low end.
    seg = lots["seg"]
    block = np.minimum(np.abs(seg), np.abs(seg + BLOCK)).astype(int)
    from_low_end = np.where(seg >= 0, lots["t"], 1.0 - lots["t"])
    # Lots are >= 1/50 of a block apart, so these are distinct within a face.
    number = block + 2 * np.floor(from_low_end * (BLOCK // 2)).astype(int) + lots["side"].astype(int)

    first_names, last_names = FIRST_NAMES, LAST_NAMES
    person = 0
    street_cache: dict[tuple[int, int, int], str] = {}
    for i in range(n):
        orientation = int(lots["orientation"][i])
        line = int(lots["line"][i])
        sign = 1 if seg[i] >= 0 else -1
        key = (orientation, line, sign)
        street = street_cache.get(key)
        if street is None:
            if orientation == 0:
                prefix = "E" if sign > 0 else "W"
                street = f"{prefix} {_ew_street_name(line)}"
            else:
                prefix = "N" if sign > 0 else "S"
                street = f"{prefix} {_ns_street_name(line)}"
            street_cache[key] = street
        address = f"{int(number[i])} {street}"
        zip_value = zip_code or CHICAGO_ZIPS[
            _stable_index(int(x[i] // NUMBERS_PER_MILE), int(y[i] // NUMBERS_PER_MILE), len(CHICAGO_ZIPS))
        ]
        lat_s, lon_s = f"{lat[i]:.6f}", f"{lon[i]:.6f}"
        for unit in _unit_names(int(lots["units"][i]), rng):
            r = rng.random()
            size = 1 if r < 0.36 else 2 if r < 0.70 else 3 if r < 0.86 else 4
            family = last_names[int(rng.random() * len(last_names))]
            for _ in range(size):
                person += 1
                first = first_names[int(rng.random() * len(first_names))]
                last = family if rng.random() < 0.8 else last_names[int(rng.random() * len(last_names))]
                phone = ""
                if rng.random() < PHONE_SHARE:
                    # 555-0100..0199 numbers are reserved for fiction.
                    phone = f"{AREA_CODES[int(rng.random() * 3)]}-555-01{int(rng.random() * 100):02d}"
                email = ""
                if rng.random() < EMAIL_SHARE:
                    handle = f"{first}.{last}{int(rng.random() * 1000)}".lower()
                    handle = handle.replace(" ", "").replace("'", "")
                    email = f"{handle}@{EMAIL_DOMAINS[int(rng.random() * 3)]}"
                yield {
                    "external_id": f"{id_prefix}-{person:08d}",
                    "address": address,
                    "unit": unit,
                    "city": city,
                    "state": state,
                    "zip": zip_value,
                    "latitude": lat_s,
                    "longitude": lon_s,
                    "first_name": first,
                    "last_name": last,
                    "phone": phone,
                    "email": email,
                }


def write_households_csv(rows: Iterable[dict], path_or_file: str | os.PathLike | IO[str]) -> int:
    """Write rows (e.g. from generate_households) as CSV with a header; return the row count."""
    def _write(handle: IO[str]) -> int:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="raise")
        writer.writeheader()
        written = 0
        for row in rows:
            writer.writerow(row)
            written += 1
        return written

    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "w", newline="", encoding="utf-8") as handle:
            return _write(handle)
    if isinstance(path_or_file, io.TextIOBase) or hasattr(path_or_file, "write"):
        return _write(path_or_file)
    raise TypeError("path_or_file must be a path or a text file object")
