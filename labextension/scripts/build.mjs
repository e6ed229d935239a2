// Build the prebuilt (federated) JupyterLab extension into python/ticketbooth/labextension/.
// Usage: node scripts/build.mjs  (npm run build; no Python needed, unlike
// `jupyter labextension build`, which does the same two steps):
//  1. tsc compiles src/ and the widget's sources it imports (../js/src) to lib/
//     (rootDir is the repo root, so lib/labextension/src and lib/js/src keep their
//     relative imports); webpack then finds @uwdata/flechette in this package's node_modules;
//  2. @jupyterlab/builder bundles lib/ as a module-federation remote against JupyterLab's
//     core package data (@jupyterlab/core-meta: which packages the app shares).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(resolve(root, "package.json"));
const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));
const out = resolve(root, pkg.jupyterlab.outputDir);
const run = (file, args) => execFileSync(process.execPath, [file, ...args], { cwd: root, stdio: "inherit" });

rmSync(resolve(root, "lib"), { recursive: true, force: true });
run(require.resolve("typescript/bin/tsc"), ["-p", "tsconfig.json"]);

// the builder reads the core data from <core-path>/package.json
const core = resolve(root, "build/core");
mkdirSync(core, { recursive: true });
writeFileSync(resolve(core, "package.json"), readFileSync(require.resolve("@jupyterlab/core-meta/core.package.json")));

rmSync(out, { recursive: true, force: true });
run(require.resolve("@jupyterlab/builder/lib/build-labextension.js"), ["--core-path", core, "."]);
copyFileSync(resolve(root, "install.json"), resolve(out, "install.json"));
console.log(`built ${out}`);
