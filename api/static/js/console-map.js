/* The console's turf map: the page's GeoJSON (a JSON block, not script), coloured by state, filled by
   the share of doors knocked, dashed where a turf shares doors with another. No network but the
   configured tiles; the table beside it has the same links for the keyboard. On the draw page
   (a #draw-geometry field) each click on the map adds a corner, and the field holds the polygon as
   GeoJSON for the form; the field can be typed into too. */
(function () {
  "use strict";
  var el = document.getElementById("console-map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || !window.L) { return; }
  var data = JSON.parse(dataEl.textContent);
  var COLOURS = { ready: "#2f6fb0", checked_out: "#8a5300", completed: "#2e7d32", archived: "#666666" };
  var map = L.map(el, { scrollWheelZoom: false });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
  }
  function style(feature) {
    var p = feature.properties;
    var share = p.door_count ? p.knocked / p.door_count : 0;
    return { color: COLOURS[p.status] || "#444", weight: 2, fillColor: COLOURS[p.status] || "#444",
             fillOpacity: 0.1 + 0.6 * share, dashArray: p.overlaps && p.overlaps.length ? "6 4" : null };
  }
  function text(value) { var span = document.createElement("span"); span.textContent = value; return span; }
  var geometryField = document.getElementById("draw-geometry");
  var layer = L.geoJSON(data, {
    style: style,
    interactive: !geometryField,  // drawing: a click on a turf adds a corner, no popup
    onEachFeature: function (feature, shape) {
      var p = feature.properties;
      var box = document.createElement("div");
      box.className = "turf-popup";
      var title = document.createElement(p.url ? "a" : "strong");
      if (p.url) { title.href = p.url; }
      title.textContent = p.name;
      box.appendChild(title);
      box.appendChild(text(" · " + p.status.replace("_", " ") + " · " + p.knocked + "/" + p.door_count + " knocked"));
      if (p.holder) { box.appendChild(text(" · " + p.holder)); }
      if (p.overlaps && p.overlaps.length) {
        box.appendChild(text(" · shares doors with " + p.overlaps.map(function (o) { return o.name; }).join(", ")));
      }
      shape.bindPopup(box);
      shape.on("add", function () {
        var path = shape.getElement && shape.getElement();
        if (path) {
          path.classList.add("turf");
          path.setAttribute("data-turf-id", p.id);
          path.setAttribute("data-status", p.status);
        }
      });
    }
  }).addTo(map);
  if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); } else { map.setView([41.88, -87.63], 11); }
  if (geometryField) { drawing(map, geometryField); }
  el.setAttribute("data-loaded", "true");

  function drawing(map, field) {
    var corners = [], outline = null, count = document.getElementById("draw-count");
    function redraw() {
      if (outline) { map.removeLayer(outline); outline = null; }
      if (corners.length) { outline = L.polygon(corners, { color: "#7b1fa2", weight: 3 }).addTo(map); }
      count.textContent = String(corners.length);
      if (corners.length >= 3) {
        var ring = corners.map(function (c) { return [c[1], c[0]]; });
        ring.push(ring[0]);
        field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      } else {
        field.value = "";
      }
    }
    map.on("click", function (e) { corners.push([e.latlng.lat, e.latlng.lng]); redraw(); });
    document.getElementById("draw-undo").addEventListener("click", function () { corners.pop(); redraw(); });
    document.getElementById("draw-clear").addEventListener("click", function () { corners = []; redraw(); });
  }
}());
