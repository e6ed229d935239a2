// Build the core anywidget bundle plus the two lazily-loaded heavy renderers.
// Usage: node scripts/build.mjs  (npm run build)
import { build } from "esbuild";
import { readFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const outdir = resolve(root, "../python/ticketbooth/static");
mkdirSync(outdir, { recursive: true });

const common = {
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  platform: "browser",
  legalComments: "none",
  logLevel: "warning",
  absWorkingDir: root,
};

const entries = [
  { in: "src/index.ts", out: "widget.js", limitKb: 150 },
  { in: "src/entries/plotly.ts", out: "plotly.js" },
  { in: "src/entries/vega.ts", out: "vega.js" },
];

await Promise.all(
  entries.map((e) =>
    build({ ...common, entryPoints: [e.in], outfile: resolve(outdir, e.out) }),
  ),
);

// The dev harness (not shipped): widget + FakeDataSource, served from js/dev.
if (process.argv.includes("--harness") || process.env.TB_HARNESS) {
  await build({
    ...common,
    minify: false,
    entryPoints: ["dev/harness.ts"],
    outfile: resolve(root, "dev/harness.js"),
  });
}

let failed = false;
for (const e of entries) {
  const bytes = readFileSync(resolve(outdir, e.out));
  const gz = gzipSync(bytes, { level: 9 }).length / 1024;
  const raw = bytes.length / 1024;
  console.log(`${e.out.padEnd(10)} ${raw.toFixed(1).padStart(8)} KB raw ${gz.toFixed(1).padStart(8)} KB gzip`);
  if (e.limitKb && gz > e.limitKb) {
    console.error(`  ${e.out} exceeds ${e.limitKb} KB gzip budget`);
    failed = true;
  }
}
if (failed) process.exit(1);
