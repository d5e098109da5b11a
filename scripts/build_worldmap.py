"""Build ``outputs/templates/worldmap.json``, the offline world map of the HTML report.

Run by hand when the map data should change; the report only reads the JSON it writes.

Inputs (both public, both installed with ordinary package clients):

* Natural Earth 1:110m and 1:50m Admin-0 countries (public domain, naturalearthdata.com),
  as the TopoJSON of the npm package ``world-atlas`` 2.0.2 (Natural Earth 4.1.0; ISC):
  ``npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz``.
* ISO 3166-1 codes and names from Debian's ``iso-codes`` package
  (``/usr/share/iso-codes/json/iso_3166-1.json``).

Usage::

    python scripts/build_worldmap.py package/countries-110m.json \\
        package/countries-50m.json > src/phonehome/outputs/templates/worldmap.json

Countries come from the 1:110m file, projected with the Equal Earth projection (Šavrič, Patterson
and Jenny, 2018), simplified (Douglas-Peucker, per shared arc so borders stay shared) and rounded
to whole units of a 1000-wide canvas. Antarctica is left out. Countries that the 1:110m file
does not draw (Singapore, Bahrain, Malta, ...) become dots at the centre of their largest
1:50m polygon. Natural Earth's areas without an ISO code join the ISO country that includes
them (N. Cyprus -> CY, Somaliland -> SO); Kosovo is ``XK``, as geolocation data has it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

WIDTH = 1000
TOLERANCE = 0.6
"""Douglas-Peucker tolerance in canvas units."""
MIN_RING_AREA = 2.0
"""Rings smaller than this (square canvas units) are dropped, unless a country's largest."""
ISO_JSON = Path("/usr/share/iso-codes/json/iso_3166-1.json")
UNCODED = {"N. Cyprus": "CY", "Somaliland": "SO", "Kosovo": "XK"}
LEFT_OUT = {"010"}  # Antarctica
SOURCE = (
    "Natural Earth 1:110m and 1:50m Admin-0 countries (public domain), via world-atlas 2.0.2; "
    "Equal Earth projection; ISO 3166-1 names from Debian iso-codes"
)

Point = tuple[float, float]

_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2
_X_MAX = 2 * math.sqrt(3) * math.pi / (3 * _A1)  # x at lon 180, lat 0


def equal_earth(lon: float, lat: float) -> Point:
    """Equal Earth projection of degrees, unit sphere."""
    lam, phi = math.radians(lon), math.radians(lat)
    theta = math.asin(_M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    slope = 9 * _A4 * t6 * t2 + 7 * _A3 * t6 + 3 * _A2 * t2 + _A1
    x = 2 * math.sqrt(3) * lam * math.cos(theta) / (3 * slope)
    y = theta * (_A4 * t6 * t2 + _A3 * t6 + _A2 * t2 + _A1)
    return (x, y)


def _canvas(lon: float, lat: float) -> Point:
    x, y = equal_earth(lon, lat)
    scale = WIDTH / (2 * _X_MAX)
    return ((x + _X_MAX) * scale, -y * scale)


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Absolute (lon, lat) points of every arc of a quantized TopoJSON topology."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _perpendicular(p: Point, a: Point, b: Point) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if dx == dy == 0:
        return math.hypot(px - ax, py - ay)
    return abs(dy * px - dx * py + bx * ay - by * ax) / math.hypot(dx, dy)


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, keeping both ends."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        lo, hi = stack.pop()
        best, index = 0.0, -1
        for i in range(lo + 1, hi):
            d = _perpendicular(points[i], points[lo], points[hi])
            if d > best:
                best, index = d, i
        if index >= 0 and best > tolerance:
            keep[index] = True
            stack += [(lo, index), (index, hi)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _area(ring: list[Point]) -> float:
    return 0.5 * sum(ax * by - bx * ay for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True))


def _centroid(ring: list[Point]) -> Point:
    area = _area(ring)
    if abs(area) < 1e-9:
        return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
    cx = cy = 0.0
    for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = ax * by - bx * ay
        cx += (ax + bx) * cross
        cy += (ay + by) * cross
    return (cx / (6 * area), cy / (6 * area))


def _rings(geometry: dict[str, Any], arcs: list[list[Point]]) -> list[list[Point]]:
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    rings = []
    for polygon in polygons:
        for ring_arcs in polygon:
            ring: list[Point] = []
            for index in ring_arcs:
                arc = arcs[index] if index >= 0 else arcs[~index][::-1]
                ring.extend(arc if not ring else arc[1:])
            rings.append(ring)
    return rings


def _clip(ring: list[Point], keep_west: bool, at: float) -> list[Point]:
    """Sutherland-Hodgman: the part of ``ring`` on one side of longitude ``at``."""

    def inside(p: Point) -> bool:
        return p[0] <= at if keep_west else p[0] >= at

    out: list[Point] = []
    for i, current in enumerate(ring):
        previous = ring[i - 1]
        if inside(current) != inside(previous):
            share = (at - previous[0]) / (current[0] - previous[0])
            out.append((at, previous[1] + share * (current[1] - previous[1])))
        if inside(current):
            out.append(current)
    return out


def _densify(ring: list[Point]) -> list[Point]:
    """Extra points along edges that follow the +-180 meridian, so they project as the curved edge."""
    out: list[Point] = []
    for i, (lon, lat) in enumerate(ring):
        out.append((lon, lat))
        nxt = ring[(i + 1) % len(ring)]
        if abs(lon) == 180 and nxt[0] == lon and abs(nxt[1] - lat) > 1:
            steps = int(abs(nxt[1] - lat))
            out += [(lon, lat + (nxt[1] - lat) * k / steps) for k in range(1, steps)]
    return out


def split_antimeridian(ring: list[Point]) -> list[list[Point]]:
    """A ring that crosses the 180th meridian, as one ring on each side of the map."""
    if not any(abs(b[0] - a[0]) > 180 for a, b in zip(ring, ring[1:] + ring[:1], strict=True)):
        return [ring]
    unwrapped = [ring[0]]
    for lon, lat in ring[1:]:
        previous = unwrapped[-1][0]
        while lon - previous > 180:
            lon -= 360
        while previous - lon > 180:
            lon += 360
        unwrapped.append((lon, lat))
    if sum(p[0] for p in unwrapped) / len(unwrapped) < 0:
        unwrapped = [(lon + 360, lat) for lon, lat in unwrapped]
    east = _clip(unwrapped, keep_west=True, at=180.0)
    west = [(lon - 360, lat) for lon, lat in _clip(unwrapped, keep_west=False, at=180.0)]
    return [_densify(part) for part in (east, west) if len(part) >= 3]


def _simplify_lonlat(arc: list[Point]) -> list[Point]:
    """Simplify in projected units (as drawn), keeping the original points."""
    projected = [_canvas(*p) for p in arc]
    kept = set(simplify(projected, TOLERANCE))
    return [p for p, q in zip(arc, projected, strict=True) if q in kept]


def _path(rings: list[list[tuple[int, int]]]) -> str:
    parts = []
    for ring in rings:
        (x0, y0), rest = ring[0], ring[1:]
        steps = [f"M{x0} {y0}"]
        moves = []
        px, py = x0, y0
        for x, y in rest:
            moves.append(f"{x - px} {y - py}")
            px, py = x, y
        steps.append("l" + " ".join(moves).replace(" -", "-") + "z")
        parts.append("".join(steps))
    return "".join(parts)


def _codes() -> tuple[dict[str, str], dict[str, str]]:
    data = json.loads(ISO_JSON.read_text(encoding="utf-8"))["3166-1"]
    by_number = {c["numeric"]: c["alpha_2"] for c in data}
    names = {c["alpha_2"]: c.get("common_name") or c["name"] for c in data}
    names["XK"] = "Kosovo"
    return by_number, names


def _code(geometry: dict[str, Any], by_number: dict[str, str]) -> str | None:
    if "id" in geometry:
        return by_number.get(str(geometry["id"]))
    return UNCODED.get(str(geometry.get("properties", {}).get("name")))


def build(path_110m: Path, path_50m: Path) -> dict[str, Any]:
    by_number, names = _codes()
    topo = json.loads(path_110m.read_text(encoding="utf-8"))
    lonlat = [_simplify_lonlat(arc) for arc in decode_arcs(topo)]
    rings_by_code: dict[str, list[list[tuple[int, int]]]] = {}
    height = 0.0
    for geometry in topo["objects"]["countries"]["geometries"]:
        if str(geometry.get("id")) in LEFT_OUT:
            continue
        code = _code(geometry, by_number)
        if code is None:
            raise SystemExit(f"{path_110m}: no ISO code for {geometry.get('properties')}")
        rings = [
            [_canvas(*p) for p in part]
            for ring in _rings(geometry, lonlat)
            for part in split_antimeridian(ring)
            if len(part) >= 3
        ]
        rings.sort(key=lambda r: -abs(_area(r)))
        kept = [r for i, r in enumerate(rings) if i == 0 or abs(_area(r)) >= MIN_RING_AREA]
        for ring in kept:
            rounded: list[tuple[int, int]] = []
            for x, y in ring:
                point = (round(x), round(y))
                if not rounded or point != rounded[-1]:
                    rounded.append(point)
            if len(rounded) >= 3:
                rings_by_code.setdefault(code, []).append(rounded)
                height = max(height, *(y for _, y in rounded))
    # Shift so the top edge (85.6 N) is at y = 0.
    top = _canvas(0.0, topo["bbox"][3])[1]
    offset = -round(top)
    countries = []
    for code in sorted(rings_by_code):
        shifted = [[(x, y + offset) for x, y in ring] for ring in rings_by_code[code]]
        countries.append({"code": code, "name": names.get(code, code), "d": _path(shifted)})
    drawn = set(rings_by_code)
    topo50 = json.loads(path_50m.read_text(encoding="utf-8"))
    arcs50 = [[_canvas(*p) for p in arc] for arc in decode_arcs(topo50)]
    markers = []
    for geometry in topo50["objects"]["countries"]["geometries"]:
        code = _code(geometry, by_number)
        if code is None or code in drawn or str(geometry.get("id")) in LEFT_OUT:
            continue
        rings = _rings(geometry, arcs50)
        largest = max(rings, key=lambda r: abs(_area(r)))
        x, y = _centroid(largest)
        drawn.add(code)
        name = names.get(code, code)
        markers.append({"code": code, "name": name, "x": round(x, 1), "y": round(y + offset, 1)})
    markers.sort(key=lambda m: str(m["code"]))
    return {
        "source": SOURCE,
        "width": WIDTH,
        "height": math.ceil(height + offset) + 2,
        "countries": countries,
        "markers": markers,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    data = build(Path(argv[1]), Path(argv[2]))
    sys.stdout.write(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
