// Bundle every widget entry (each top-level js/*.js file) into one self-contained ES module
// in crystalwidgets/widgets/static/<name>.js (plus <name>.css when the entry imports CSS).
//
//   node build.mjs            minified bundles (what wheels ship)
//   node build.mjs --dev      unminified, inline source maps
//   node build.mjs --watch    rebuild on change (with --dev for debugging)
//   node build.mjs viewer.js  only the named entries
//
// anywidget loads a bundle from a string, so bundles cannot import each other or load chunks:
// shared code lives in js/lib/ and esbuild copies what each entry imports into its bundle.
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, "..", "crystalwidgets", "widgets", "static");

const args = process.argv.slice(2);
const dev = args.includes("--dev");
const watch = args.includes("--watch");
const named = args.filter((a) => !a.startsWith("--"));

const entries = (named.length ? named : readdirSync(here).filter((f) => f.endsWith(".js")))
  .sort()
  .map((f) => join(here, f));
if (entries.length === 0) {
  console.error(`no widget entries (*.js) found in ${here}`);
  process.exit(1);
}

const options = {
  entryPoints: entries,
  outdir,
  entryNames: "[name]",
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
