// The shipped base map of the small maps (alert drawing, movement routes): the border and
// provinces, and the corridor roads, behind what the page draws. Fetched once and shared.
import { api } from "./api.js";

let cached = null;

function load() {
  if (!cached) {
    cached = Promise.all([
      api("/map/outlines", { accept: "application/geo+json" }),
      api("/map/roads", { accept: "application/geo+json" }),
    ]).catch((err) => { cached = null; throw err; });
  }
  return cached;
}

export async function addBaseLayers(map) {
  const [outlines, roads] = await load();
  L.geoJSON(outlines, { filter: (f) => f.properties.kind !== "district", style: { color: "#546e7a", weight: 1, fill: false },
    interactive: false }).addTo(map).bringToBack();
  L.geoJSON(roads, { filter: (f) => f.properties.kind === "road", style: { color: "#8d6e63", weight: 2 }, interactive: false })
    .addTo(map).bringToBack();
}
