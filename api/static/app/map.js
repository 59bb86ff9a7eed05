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
  try {
    draw(L, el, walklist, options);
  } catch (error) {
    el.textContent = error.message;
    throw error;
  }
  el.dataset.loaded = "true";
}

function draw(L, el, walklist, options) {
  const map = L.map(el, { scrollWheelZoom: false });
  const points = walklist.stops.map((stop) => [stop.location.lat, stop.location.lon]);
  const outline = walklist.turf.geometry
    ? L.geoJSON(walklist.turf.geometry, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.05 } }) : null;
  // The view first: vector layers added to a map without one fail to draw.
  if (points.length) {
    map.fitBounds(L.latLngBounds(points), { padding: [20, 20] });
  } else if (outline) {
    map.fitBounds(outline.getBounds());
  } else {
    map.setView([41.88, -87.63], 12);
  }
  if (options.tileUrl) {
    L.tileLayer(options.tileUrl, { attribution: options.attribution || "", maxZoom: 19 }).addTo(map);
  }
  if (outline) { outline.addTo(map); }
  walklist.stops.forEach((stop, index) => {
    const link = h("a", { href: options.doorHref(stop) }, options.label(stop));
    L.circleMarker(points[index], { radius: 7, color: "#b86e00", weight: 2, fillOpacity: 0.8 })
      .bindTooltip(String(stop.seq), { permanent: true, direction: "center", className: "seq-label" })
      .bindPopup(link).addTo(map);
  });
}
