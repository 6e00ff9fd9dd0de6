// Builds every distribution of the package into dist/:
//   dist/esm/index.js      Node, ES module (+ .d.ts declarations from tsc)
//   dist/cjs/index.js      Node, CommonJS  (+ the same declarations, read as CommonJS)
//   dist/browser/index.js  browsers, ES module for bundlers (no `ws`)
//   dist/ksps.browser.js   browsers, <script> build defining the global `BusClient` (+ .min.js)
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Build beside dist/ and swap it in at the end, so that tests running meanwhile keep a complete dist/.
const finalDist = join(root, "dist");
const dist = join(root, `dist.building-${process.pid}`);
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const banner = `/* ksps ${version} | MIT */`;

try {
  // Declarations: tsc checks the sources (strict) and writes dist/esm/*.d.ts.
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json"), "--outDir", join(dist, "esm")], { stdio: "inherit" });
  cpSync(join(dist, "esm"), join(dist, "cjs"), { recursive: true });
  writeFileSync(join(dist, "cjs", "package.json"), '{"type": "commonjs"}\n');

  const common = { bundle: true, logLevel: "warning", banner: { js: banner }, legalComments: "none" };
  const node = { ...common, entryPoints: [join(root, "src/index.ts")], platform: "node", target: "node20", external: ["ws"] };
  const browser = { ...common, entryPoints: [join(root, "src/browser.ts")], platform: "browser", target: "es2020" };

  await Promise.all([
    esbuild.build({ ...node, format: "esm", outfile: join(dist, "esm/index.js") }),
    esbuild.build({ ...node, format: "cjs", outfile: join(dist, "cjs/index.js") }),
    esbuild.build({ ...browser, format: "esm", outfile: join(dist, "browser/index.js") }),
    esbuild.build({ ...browser, format: "iife", globalName: "BusClient", outfile: join(dist, "ksps.browser.js") }),
    esbuild.build({
      ...browser, format: "iife", globalName: "BusClient", minify: true, outfile: join(dist, "ksps.browser.min.js"),
    }),
  ]);

  // A browser build must never pull in the Node-only `ws` package.
  for (const file of ["browser/index.js", "ksps.browser.js", "ksps.browser.min.js"]) {
    if (/require\(["']ws["']\)|from ["']ws["']/.test(readFileSync(join(dist, file), "utf8"))) {
      throw new Error(`dist/${file} references the ws package`);
    }
  }
} catch (error) {
  rmSync(dist, { recursive: true, force: true });
  throw error;
}

const previous = `${finalDist}.previous-${process.pid}`;
if (existsSync(finalDist)) {
  renameSync(finalDist, previous);
}
renameSync(dist, finalDist);
rmSync(previous, { recursive: true, force: true });
console.log(`built ksps ${version} into dist/`);
