// Bundle every widget entry into one self-contained ES module in
// crystalwidgets/widgets/static/<name>.js (plus <name>.css when the entry imports CSS).
// An entry is a top-level js/<name>.js file, or a folder js/<name>/ with an index.js (a widget
// split into modules): both build to <name>.js.
//
//   node build.mjs            minified bundles (what wheels ship)
//   node build.mjs --dev      unminified, inline source maps
//   node build.mjs --watch    rebuild on change (with --dev for debugging)
//   node build.mjs viewer.js  only the named entries (`table`, `table.js` or `table/index.js`)
//
// anywidget loads a bundle from a string, so bundles cannot import each other or load chunks:
// shared code lives in js/lib/ and esbuild copies what each entry imports into its bundle.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, "..", "crystalwidgets", "widgets", "static");
/** Folders that are not widgets: shared code and the installed packages. */
const NOT_ENTRIES = new Set(["lib", "node_modules"]);

const args = process.argv.slice(2);
const dev = args.includes("--dev");
const watch = args.includes("--watch");
const named = args.filter((a) => !a.startsWith("--"));

/** Every entry as {in, out}: `out` is the bundle's name, `in` the file esbuild starts from. */
function findEntries() {
  const found = new Map();
  for (const item of readdirSync(here, { withFileTypes: true })) {
    let name = null;
    let file = null;
    if (item.isFile() && item.name.endsWith(".js")) {
      name = item.name.slice(0, -".js".length);
      file = join(here, item.name);
    } else if (
      item.isDirectory() &&
      !NOT_ENTRIES.has(item.name) &&
      existsSync(join(here, item.name, "index.js"))
    ) {
      name = item.name;
      file = join(here, item.name, "index.js");
    }
    if (name === null) continue;
    if (found.has(name)) {
      console.error(`two entries build ${name}.js: ${found.get(name)} and ${file}; keep one`);
      process.exit(1);
    }
    found.set(name, file);
  }
  return found;
}

const all = findEntries();
const names = named.length
  ? named.map((arg) => arg.replace(/\/index\.js$/, "").replace(/\.js$/, "").replace(/\/$/, ""))
  : [...all.keys()];
for (const name of names) {
  if (!all.has(name)) {
    console.error(`no widget entry ${name}: the entries are ${[...all.keys()].join(", ")}`);
    process.exit(1);
  }
}
const entries = names.sort().map((name) => ({ in: all.get(name), out: name }));
if (entries.length === 0) {
  console.error(`no widget entries (*.js or */index.js) found in ${here}`);
  process.exit(1);
}

const options = {
  entryPoints: entries,
  outdir,
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
};

if (watch) {
  const context = await esbuild.context({ ...options, logLevel: "info" });
  await context.watch();
  console.log(`watching ${entries.length} entries, writing to ${outdir}`);
} else {
  const started = performance.now();
  const result = await esbuild.build(options);
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    console.log(`${file.padEnd(60)} ${(info.bytes / 1024).toFixed(0).padStart(6)} KiB`);
  }
  console.log(`built ${entries.length} entries in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
