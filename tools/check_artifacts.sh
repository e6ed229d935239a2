#!/usr/bin/env bash
# Install from every artefact: builds the sdist and the wheel (`python -m build`: the sdist,
# then the wheel from the unpacked sdist), checks what each holds, rebuilds the sdist's JS (the
# widget and the side panel) from its own sources (it must equal the bundles shipped), then installs each artefact into a fresh
# venv with npm and node hidden from PATH (neither may need them) and runs `pip check`,
# `ticketbooth --version`, `ticketbooth demo`, the widget import and `jupyter labextension list`
# (the prebuilt JupyterLab side panel, shared data of the wheel, must be there and enabled).
# Usage: bash tools/check_artifacts.sh   (.ci/run calls it after the python environment step)
# Needs `build` (in the dev extra) in the Python that runs it: $PYTHON, else .venv, else python3.
# Everything it makes lives in one temporary directory, removed at exit (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
repo=$PWD

step() { printf '\n--- artefacts: %s (%ss) ---\n' "$*" "$SECONDS"; }
fail() {
  echo "check_artifacts: $*" >&2
  exit 1
}

py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=$repo/.venv/bin/python; else py=python3; fi
fi
"$py" -c "import build" 2>/dev/null || fail "$py lacks 'build': pip install -e '.[dev]'"

work=$(mktemp -d "${TMPDIR:-/tmp}/ticketbooth-artifacts.XXXXXX")
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step "build the sdist and the wheel ($py -m build)"
"$py" -m build --outdir "$work/dist" .
sdist=$(ls "$work"/dist/ticketbooth-*.tar.gz)
wheel=$(ls "$work"/dist/ticketbooth-*.whl)
version=$("$py" -c 'import re,sys; print(re.search(r"__version__ = \"(.+)\"", open(sys.argv[1]).read())[1])' python/ticketbooth/_version.py)
ls -l "$work/dist"

step "contents: the wheel holds the built widget, the sdist holds it and every build input"
git ls-files --cached --others --exclude-standard -- python/ticketbooth proto js/src \
  labextension/src labextension/style >"$work/tracked.txt"
"$py" - "$sdist" "$wheel" "$work/tracked.txt" <<'EOF'
import os, sys, tarfile, zipfile

sdist, wheel, tracked = sys.argv[1:4]
static = [f"python/ticketbooth/static/{n}" for n in ("widget.js", "plotly.js", "vega.js")]
# the prebuilt JupyterLab extension: in the sdist under python/, in the wheel as shared data
labext = "python/ticketbooth/labextension"
lab_data = "share/jupyter/labextensions/ticketbooth"
with tarfile.open(sdist) as tf:
    top = tf.getnames()[0].split("/")[0]
    s = {m.name.split("/", 1)[1]: m.size for m in tf.getmembers() if m.isfile()}
with zipfile.ZipFile(wheel) as zf:
    w = {i.filename: i.file_size for i in zf.infolist()}
need_sdist = [
    "pyproject.toml", "hatch_build.py", "README.md", "PKG-INFO",
    "js/package.json", "js/package-lock.json", "js/tsconfig.json", "js/scripts/build.mjs",
    "js/src/index.ts", "js/src/entries/plotly.ts", "js/src/entries/vega.ts",
    *static,
    *(f"labextension/{n}" for n in (
        "package.json", "package-lock.json", "tsconfig.json", "webpack.config.js", "install.json",
        "scripts/build.mjs", "src/index.ts", "style/index.css",
    )),
    f"{labext}/package.json", f"{labext}/install.json",
    # every source file (tracked or new, not git-ignored) the build and the package use
    *(f for f in open(tracked).read().splitlines() if os.path.isfile(f)),
]
need_wheel = [p.removeprefix("python/") for p in static] + [
    "ticketbooth/__init__.py", "ticketbooth/_proto/v1/broker_pb2.py",
]
lab_files = {p.split(f"/{lab_data}/", 1)[1]: p for p in w if f".data/data/{lab_data}/" in p}
server_config = "etc/jupyter/jupyter_server_config.d/ticketbooth.json"  # enables ticketbooth.server
if not any(p.endswith(f".data/data/{server_config}") for p in w):
    need_wheel.append(f"ticketbooth-*.data/data/{server_config}")
need_sdist.append("jupyter-config/jupyter_server_config.d/ticketbooth.json")
for p in ("package.json", "install.json"):
    if p not in lab_files:
        need_wheel.append(f"ticketbooth-*.data/data/{lab_data}/{p}")
if "package.json" in lab_files:
    import json
    load = json.loads(zipfile.ZipFile(wheel).read(lab_files["package.json"]))["jupyterlab"]["_build"]["load"]
    if load not in lab_files:
        need_wheel.append(f"{lab_data}/{load} (the extension's entry point)")
if len([p for p in s if p.startswith(f"{labext}/static/remoteEntry.")]) != 1:
    need_sdist.append(f"{labext}/static/remoteEntry.*.js (exactly one)")
problems = [f"sdist lacks {p}" for p in need_sdist if p not in s]
problems += [f"wheel lacks {p}" for p in need_wheel if p not in w]
problems += [f"empty: {p}" for p in static if s.get(p) == 0]
problems += [f"sdist holds {p}" for p in s if "node_modules/" in p or p.startswith("labextension/lib/")]
problems += [f"wheel holds {p} (shared data only)" for p in w if p.startswith("ticketbooth/labextension/")]
ep = [p for p in w if p.endswith(".dist-info/entry_points.txt")]
if not ep or "ticketbooth = ticketbooth._cli:main" not in zipfile.ZipFile(wheel).read(ep[0]).decode():
    problems.append("wheel lacks the `ticketbooth` console script")
print(f"{sdist.rsplit('/', 1)[1]}: {len(s)} files under {top}/")
for p in sorted(s):
    if not p.startswith(("python/ticketbooth/_", "python/ticketbooth/broker/")):
        print(f"  {s[p]:>9}  {p}")
print(f"{wheel.rsplit('/', 1)[1]}: {len(w)} files")
for p in sorted(w):
    if "/static/" in p or ".dist-info/" in p or ".data/" in p:
        print(f"  {w[p]:>9}  {p}")
for p in problems:
    print("MISSING/WRONG:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

step "sdist: its JS sources rebuild the bundles it ships (npm ci && npm run build, unpacked)"
if command -v npm >/dev/null; then
  mkdir "$work/unpacked"
  tar -xzf "$sdist" -C "$work/unpacked"
  src=$(echo "$work"/unpacked/ticketbooth-*)
  mv "$src/python/ticketbooth/static" "$work/shipped-static"
  (cd "$src/js" && npm ci --no-audit --no-fund --loglevel=error && npm run build)
  for f in widget.js plotly.js vega.js; do
    cmp "$src/python/ticketbooth/static/$f" "$work/shipped-static/$f" ||
      fail "the sdist's static/$f is not what its js/ sources build: stale? run npm run build in js/"
  done
  echo "rebuilt bundles are identical to the shipped ones"
  # the side panel: every chunk is identical; remoteEntry.<hash>.js (and so package.json,
  # which names it) holds its container's module id, which webpack derives from the absolute
  # path of the unpacked sources, so only its presence is compared
  mv "$src/python/ticketbooth/labextension" "$work/shipped-labextension"
  (cd "$src/labextension" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null)
  diff -r -x 'remoteEntry.*.js' -x package.json "$src/python/ticketbooth/labextension" \
    "$work/shipped-labextension" ||
    fail "the sdist's labextension is not what its labextension/ sources build: stale?"
  ls "$src"/python/ticketbooth/labextension/static/remoteEntry.*.js >/dev/null ||
    fail "the rebuilt labextension has no remoteEntry"
  echo "rebuilt side panel chunks are identical to the shipped ones"
else
  echo "skipped: no npm on PATH (.ci/run installs it)"
fi

# PATH without npm/node: the venv's bin only (pip, its build subprocesses and the demo call
# their interpreters by absolute path and need nothing else from PATH)
install_and_run() {
  local kind=$1 file=$2
  local venv=$work/venv-$kind
  step "$kind: fresh venv, pip install $(basename "$file") with npm and node hidden from PATH"
  "$py" -m venv "$venv"
  if (PATH=$venv/bin; command -v npm || command -v node); then
    fail "npm or node is still on the restricted PATH"
  fi
  # pip's cache is reused (its default); the full log is shown only when the install fails
  if ! env PATH="$venv/bin" "$venv/bin/python" -m pip install "$file" >"$work/pip-$kind.log" 2>&1
  then
    cat "$work/pip-$kind.log"
    fail "$kind: pip install $(basename "$file") failed without npm/node on PATH (log above)"
  fi
  grep -E '^(Processing .*/dist/|  Building wheel for ticketbooth|  Created wheel for|Successfully built)' \
    "$work/pip-$kind.log" || true
  awk '/^Successfully installed/ {print "installed", NF - 2, "packages"}' "$work/pip-$kind.log"

  step "$kind: pip check"
  "$venv/bin/python" -m pip check

  step "$kind: ticketbooth --version"
  out=$("$venv/bin/ticketbooth" --version)
  echo "$out"
  [ "$out" = "ticketbooth $version" ] || fail "$kind: expected 'ticketbooth $version'"

  step "$kind: ticketbooth demo --rows 100000 (own runtime dir, so it starts its own broker)"
  local rt=$work/runtime-$kind
  mkdir -m 700 "$rt"
  if ! (cd "$work" && env -u TICKETBOOTH_URL -u TICKETBOOTH_TOKEN JUPYTER_RUNTIME_DIR="$rt" \
    TICKETBOOTH_IDLE_TIMEOUT=2 timeout 180 "$venv/bin/ticketbooth" demo --rows 100000) |
    tee "$work/demo-$kind.log"; then
    cat "$rt/ticketbooth-broker.log" 2>/dev/null || true
    fail "$kind: ticketbooth demo failed"
  fi
  grep -q "fetched 100,000 rows" "$work/demo-$kind.log" || fail "$kind: the demo fetched no rows"
  # the embedded broker exits 2 s after its last session; wait for it (and stop it if it hangs)
  local pid
  pid=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("pid",""))' \
    "$rt/ticketbooth-broker.json" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "warning: the demo's broker (pid $pid) did not exit when idle; stopping it" >&2
      kill "$pid"
    fi
  fi

  step "$kind: import ticketbooth and the widget; its JS bundle is inside the installed package"
  (cd "$work" && "$venv/bin/python" - <<'EOF'
import pathlib, sysconfig
import ticketbooth, ticketbooth._widget as w

site = pathlib.Path(sysconfig.get_paths()["purelib"]).resolve()
pkg = pathlib.Path(ticketbooth.__file__).resolve().parent
bundle = w._bundle_path().resolve()
assert pkg.is_relative_to(site), f"ticketbooth imported from {pkg}, not from {site}"
assert bundle.is_relative_to(pkg), f"widget bundle {bundle} is not inside {pkg}"
for name in ("widget.js", *w.RENDERERS.values()):
    size = (w.STATIC / name).stat().st_size
    assert size > 1000, f"{w.STATIC / name} has {size} bytes"
    print(f"  {size:>9}  {w.STATIC / name}")
print("ok:", ticketbooth.__version__, "from", pkg)
EOF
  )

  step "$kind: the JupyterLab side panel is installed and enabled"
  "$venv/bin/jupyter" labextension list 2>&1 | tee "$work/labext-$kind.log"
  grep -Eq 'ticketbooth v[^ ]+ .*enabled.*OK' "$work/labext-$kind.log" ||
    fail "$kind: jupyter labextension list does not show ticketbooth enabled and OK"

  step "$kind: the server extension is enabled and loads"
  "$venv/bin/jupyter" server extension list 2>&1 | tee "$work/serverext-$kind.log"
  grep -Eq 'ticketbooth.server .*enabled' "$work/serverext-$kind.log" &&
    grep -Eq 'ticketbooth.server .*OK' "$work/serverext-$kind.log" ||
    fail "$kind: jupyter server extension list does not show ticketbooth.server enabled and OK"
}

install_and_run wheel "$wheel"
install_and_run sdist "$sdist"

step "all artefacts install and run"
