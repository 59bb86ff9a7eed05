"""The printed sheet's pure parts: a question's answer format and the turf's small map. No database."""
import re

from canvass.turfs.paper import answer_format, sheet_map

SQUARE = {"type": "MultiPolygon", "coordinates": [[[[-87.72, 41.94], [-87.70, 41.94], [-87.70, 41.95],
                                                     [-87.72, 41.95], [-87.72, 41.94]]]]}


def test_each_question_kind_has_its_paper_answer_format():
    assert answer_format({"kind": "choice", "choices": ["Rent", "Heat"]}) == "circle one: Rent / Heat"
    assert answer_format({"kind": "scale", "choices": None}).startswith("circle one: 1 2 3 4 5")
    assert answer_format({"kind": "yes_no"}) == "circle one: yes / no"
    assert answer_format({"kind": "text"}) == "write the answer"


def test_the_map_fits_the_turf_in_the_box_north_up_with_the_stops_in_walking_order():
    stops = [(-87.715, 41.945, 1), (-87.705, 41.945, 2), (-87.705, 41.9401, 3)]
    drawn = sheet_map(SQUARE, stops, width=360, height=240, margin=8)
    points = [tuple(map(float, p.split())) for p in re.findall(r"[ML]([\d.]+ [\d.]+)", drawn.outline[0])]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert min(xs) >= 8 - 0.1 and max(xs) <= 352 + 0.1 and min(ys) >= 8 - 0.1 and max(ys) <= 232 + 0.1
    # The square is ~1.66 km wide, 1.11 km tall (0.02 by 0.01 degrees, cos(41.945) = 0.744): the height
    # fills the box, and the aspect is kept.
    assert round(max(ys) - min(ys)) == 224 and abs((max(xs) - min(xs)) / (max(ys) - min(ys)) - 1.489) < 0.01
    (x1, y1, s1), (x2, y2, s2), (x3, y3, s3) = drawn.stops
    assert (s1, s2, s3) == (1, 2, 3) and x2 > x1 and y1 == y2 and y3 > y2  # east is right, south is down
    assert drawn.route == f"{x1},{y1} {x2},{y2} {x3},{y3}"


def test_a_polygon_with_a_hole_and_an_empty_geometry_are_drawn_sanely():
    holed = {"type": "Polygon", "coordinates": [SQUARE["coordinates"][0][0],
                                                [[-87.71, 41.944], [-87.709, 41.944], [-87.709, 41.945],
                                                 [-87.71, 41.944]]]}
    assert sheet_map(holed, []).outline[0].count("M") == 2
    empty = sheet_map({"type": "MultiPolygon", "coordinates": []}, [])
    assert empty.outline == [] and empty.stops == [] and empty.route == ""
