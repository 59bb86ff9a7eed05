// The walk list on a map: the turf's outline and its doors numbered in walking order. Leaflet (vendored)
// is loaded only when the map is first opened; the service worker keeps it for offline use. Tiles come
// from the server's MAP_TILE_URL setting; unset, the map shows outlines and doors only.
import { h } from "./ui.js";

let loading = null;

function loadLeaflet(js, css) {
  if (window.L) { return Promise.resolve(window.L); }
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      document.head.appendChild(h("link", { rel: "stylesheet", href: css }));
      const script = h("script", { src: js });
      script.onload = () => resolve(window.L);
      script.onerror = () => { loading = null; reject(new Error("map library not available")); };
      document.head.appendChild(script);
    });
  }
  return loading;
}

export async function showMap(el, walklist, options) {
  let L;
  try {
    L = await loadLeaflet(options.leafletJs, options.leafletCss);
  } catch (error) {
    el.textContent = error.message;
    return;
  }
  const map = L.map(el, { scrollWheelZoom: false });
  if (options.tileUrl) {
    L.tileLayer(options.tileUrl, { attribution: options.attribution || "", maxZoom: 19 }).addTo(map);
  }
  const outline = walklist.turf.geometry
    ? L.geoJSON(walklist.turf.geometry, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.05 } }).addTo(map) : null;
  const points = [];
  for (const stop of walklist.stops) {
    const at = [stop.location.lat, stop.location.lon];
    points.push(at);
    const link = h("a", { href: options.doorHref(stop) }, options.label(stop));
    L.circleMarker(at, { radius: 7, color: "#b86e00", weight: 2, fillOpacity: 0.8 })
      .bindTooltip(String(stop.seq), { permanent: true, direction: "center", className: "seq-label" })
      .bindPopup(link).addTo(map);
  }
  if (points.length) {
    map.fitBounds(L.latLngBounds(points), { padding: [20, 20] });
  } else if (outline) {
    map.fitBounds(outline.getBounds());
  } else {
    map.setView([41.88, -87.63], 12);
  }
  el.dataset.loaded = "true";
}
