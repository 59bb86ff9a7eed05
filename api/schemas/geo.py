from __future__ import annotations

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate
from shapely.geometry import mapping

from canvass.geo.models import BOUNDARY_LEVELS


class GeoJSONGeometry(fields.Field):
    """A geometry column (or an already-built GeoJSON dict) as a GeoJSON geometry object."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return mapping(to_shape(value))
        return value


GEOJSON_DESCRIPTION = "a GeoJSON geometry object, coordinates [longitude, latitude] (WGS84)"


class BoundaryImport(Schema):
    level = fields.String(required=True, validate=validate.OneOf(BOUNDARY_LEVELS))
    name_field = fields.String(
        required=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "the feature property holding the boundary's name, e.g. `ward`"},
    )
    parent_field = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "precincts: the property naming their ward; omitted: linked spatially"},
    )
    geojson = fields.Dict(required=True, metadata={"description": "a GeoJSON FeatureCollection"})


class RepairedFeature(Schema):
    index = fields.Integer()
    name = fields.String()
    reason = fields.String()


class BoundaryImportOut(Schema):
    level = fields.String()
    features = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    repaired = fields.List(fields.Nested(RepairedFeature))
    buildings_placed = fields.Integer()


class BoundaryListArgs(Schema):
    level = fields.String(validate=validate.OneOf(BOUNDARY_LEVELS))
    parent = fields.String(validate=validate.Length(max=200), metadata={"description": "precincts of this ward"})


class BoundaryOut(Schema):
    id = fields.Integer()
    level = fields.String()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    parent = fields.String(metadata={"description": "the ward's name, for precincts"})
    buildings = fields.Integer()
    households = fields.Integer()


class BoundaryProperties(Schema):
    level = fields.String()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    parent = fields.String(attribute="parent_key")
    properties = fields.Dict()


class BoundaryFeatureOut(Schema):
    type = fields.Constant("Feature")
    id = fields.Integer()
    geometry = GeoJSONGeometry(attribute="geom", metadata={"description": GEOJSON_DESCRIPTION})
    properties = fields.Function(lambda boundary: BoundaryProperties().dump(boundary))
