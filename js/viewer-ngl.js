// What the viewer draws with (NGL and the three.js it is built on), bundled on its own:
// 1.3 MB that the viewer's module loads in `render` (see `loadNgl` in viewer.js) rather than
// at import, because anywidget gives a widget's module 2 s to load and a busy machine can
// take that long to parse NGL alone; a late model then drops every update from Python.
export { ColormakerRegistry, Shape, Stage } from "ngl";
export { Vector3 } from "three";
