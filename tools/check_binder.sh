#!/usr/bin/env bash
# Checks the Binder configuration in binder/ (what mybinder.org's repo2docker reads):
#  (a) binder/requirements.txt installs in a FRESH venv together with ticketbooth's wheel
#      (its `.` line, the checkout, replaced by the wheel) and `pip check` passes; the
#      notebooks' imports work there.
#  (b) the configuration is valid for repo2docker: the files' own rules (runtime.txt format,
#      requirements.txt parseable and every package pinned with ==, `.` present, postBuild
#      executable and `bash -n` clean, environment.yml valid YAML, when present), then
#      repo2docker itself in a throwaway venv with `--no-build --no-run` (a dry run: it
#      picks the buildpack and renders the Dockerfile; no docker daemon needed), checked to
#      use the Python buildpack at the runtime.txt version and to install
#      binder/requirements.txt after the repository is copied in.
#  (c) the notebooks run with two kernels side by side: tests/integration/test_notebooks.py,
#      run by `bash tools/test.sh` in .ci/run (not repeated here).
# The wheel: $WHEEL if set, else built here (`python -m build --wheel`, seconds: the JS
# bundles in python/ticketbooth/static/ are already built). tools/check_artifacts.sh builds
# one too but removes it with its temporary directory.
# Usage: bash tools/check_binder.sh   (.ci/run calls it after tools/check_artifacts.sh)
# Everything it makes lives in one temporary directory, removed at exit (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
repo=$PWD

step() { printf '\n--- binder: %s (%ss) ---\n' "$*" "$SECONDS"; }
fail() {
  echo "check_binder: FAILED: $*" >&2
  exit 1
}

py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=$repo/.venv/bin/python; else py=python3; fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ticketbooth-binder.XXXXXX")
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step "(b) the files repo2docker reads"
[ -f binder/requirements.txt ] || fail "binder/requirements.txt is missing"
[ -f binder/runtime.txt ] || fail "binder/runtime.txt is missing"
"$py" - "$repo" <<'EOF' || fail "the Binder files break the rules above"
import os, re, subprocess, sys
from pathlib import Path

binder = Path(sys.argv[1]) / "binder"
problems = []
runtime = (binder / "runtime.txt").read_text()
m = re.fullmatch(r"python-(3\.(\d+))\n?", runtime)
if not m:
    problems.append(f"runtime.txt must be one line 'python-3.X', not {runtime!r}")
elif not 10 <= int(m[2]) <= 14:  # pyproject's requires-python >=3.10; repo2docker: 3.8-3.14
    problems.append(f"runtime.txt asks for Python {m[1]}: outside 3.10-3.14")

try:
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
local = 0
names = set()
for n, raw in enumerate((binder / "requirements.txt").read_text().splitlines(), 1):
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    if line == ".":  # the checkout: pip resolves it against the cwd, repo2docker's REPO_DIR
        local += 1
        continue
    if line.startswith("-"):
        problems.append(f"requirements.txt:{n}: options are not expected here: {raw!r}")
        continue
    try:
        req = Requirement(line)
    except InvalidRequirement as exc:
        problems.append(f"requirements.txt:{n}: not a requirement: {raw!r} ({exc})")
        continue
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        problems.append(f"requirements.txt:{n}: {req.name} is not pinned with ==: {raw!r}")
    key = re.sub(r"[-_.]+", "-", req.name).lower()
    if key in names:
        problems.append(f"requirements.txt:{n}: {req.name} appears twice")
    names.add(key)
if local != 1:
    problems.append("requirements.txt must hold one '.' line (ticketbooth from the checkout)")

post = binder / "postBuild"
if post.exists():
    if not os.access(post, os.X_OK):
        problems.append("postBuild is not executable (chmod +x binder/postBuild)")
    res = subprocess.run(["bash", "-n", str(post)], capture_output=True, text=True)
    if res.returncode:
        problems.append(f"postBuild: bash -n failed: {res.stderr.strip()}")
for name in ("environment.yml", "environment.yaml"):
    if (binder / name).exists():
        try:
            import yaml
        except ImportError:
            problems.append(f"{name} present but PyYAML is missing to check it")
            continue
        try:
            doc = yaml.safe_load((binder / name).read_text())
            assert isinstance(doc, dict) and "dependencies" in doc, "no dependencies list"
        except Exception as exc:
            problems.append(f"{name}: not a valid environment file: {exc}")
        # with environment.yml repo2docker uses conda and ignores requirements.txt
        problems.append(f"{name} present: requirements.txt would be ignored by repo2docker")
for p in problems:
    print("PROBLEM:", p, file=sys.stderr)
print(f"runtime.txt: {runtime.strip()}; requirements.txt: {len(names)} pinned packages + '.'")
sys.exit(1 if problems else 0)
EOF

step "(b) repo2docker --no-build --no-run (dry run: picks the buildpack, renders the Dockerfile)"
"$py" -m venv "$work/r2d"
if ! "$work/r2d/bin/python" -m pip install -q jupyter-repo2docker >"$work/r2d-pip.log" 2>&1; then
  cat "$work/r2d-pip.log"
  fail "pip install jupyter-repo2docker failed"
fi
"$work/r2d/bin/repo2docker" --version
if ! "$work/r2d/bin/repo2docker" --no-build --no-run --user-id 1000 --user-name jovyan \
  "$repo" >"$work/Dockerfile" 2>"$work/r2d.log"; then
  cat "$work/r2d.log" >&2
  fail "repo2docker's dry run failed (log above)"
fi
(cd "$work" && "$work/r2d/bin/python" - "$repo" "$work/Dockerfile") <<'EOF' ||
import os, re, sys
from pathlib import Path

from repo2docker.app import Repo2Docker

repo, dockerfile = sys.argv[1], Path(sys.argv[2]).read_text()
want = (Path(repo) / "binder" / "runtime.txt").read_text().strip().removeprefix("python-")
problems = []
os.chdir(repo)  # buildpacks detect in the current directory, as repo2docker's build() does
app = Repo2Docker()
packs = (BP(base_image=app.base_image) for BP in app.buildpacks)
picked = next((bp for bp in packs if bp.detect()), None)
if picked is not None:
    picked.platform = "linux/amd64"  # what mybinder.org builds (app.build() sets it)
name = type(picked).__name__ if picked else None
print(f"   buildpack: {name}, Python {getattr(picked, 'python_version', '?')}")
if name != "PythonBuildPack":
    problems.append(f"repo2docker picks {name}, not PythonBuildPack (requirements + runtime)")
elif picked.python_version != want:
    problems.append(f"the image gets Python {picked.python_version}, not {want} (runtime.txt)")
else:
    # the conda lock of the image's base environment: its nodejs builds the widget's JS
    files = picked.get_build_script_files()
    root = Path(sys.modules["repo2docker.buildpacks"].__file__).parent  # sources relative to it
    locks = [root / src for src, dst in files.items() if dst.endswith("environment.lock")]
    text = Path(locks[0]).read_text() if locks else ""
    node = re.search(r"/nodejs-(\d+[^-]*)-", text)
    lock = Path(locks[0]).name if locks else "?"
    print(f"   base environment: {lock}, nodejs {node[1] if node else 'MISSING'}")
    if not node:
        problems.append("the base environment has no nodejs: `pip install .` cannot build the JS")
    # the Python packages the base environment holds before requirements.txt, for (a)
    base = {"ipykernel", "ipywidgets", "jupyter_server", "jupyterlab", "notebook",
            "jupyter-resource-usage", "jupyterhub-base"}
    pins = [f"{'jupyterhub' if n == 'jupyterhub-base' else n}=={v}"
            for n, v in re.findall(r"/([A-Za-z0-9_.-]+?)-(\d[^-/]*)-[^-/]+\.conda", text)
            if n in base]
    Path(sys.argv[2]).with_name("base-env.txt").write_text("\n".join(pins) + "\n")
    print("   base environment's Python packages:", " ".join(pins))
install = re.search(r'pip install --no-cache-dir -r "binder/requirements.txt"', dockerfile)
copy_all = re.search(r"^COPY --chown=\S+ src/ \$\{REPO_DIR\}/$", dockerfile, re.M)
if not install:
    problems.append("the Dockerfile never installs binder/requirements.txt")
elif not copy_all or copy_all.start() > install.start():
    problems.append("binder/requirements.txt is installed before the repository is copied in")
for line in dockerfile.splitlines():
    if "binder/requirements" in line or line.startswith(("FROM", "COPY --chown=1000:1000 src/ ")):
        print("  ", line[:160])
for p in problems:
    print("PROBLEM:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
  fail "repo2docker would not build binder/ as meant (problems above)"
echo "repo2docker renders a $(cat binder/runtime.txt) image that installs binder/requirements.txt"

step "(a) fresh venv: binder/requirements.txt with ticketbooth's wheel, then pip check"
wheel=${WHEEL:-}
if [ -z "$wheel" ]; then
  "$py" -c "import build" 2>/dev/null || fail "$py lacks 'build': pip install -e '.[dev]'"
  [ -s python/ticketbooth/static/widget.js ] ||
    fail "python/ticketbooth/static/widget.js is missing: run npm run build in js/ first"
  "$py" -m build --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "building the wheel failed"; }
  wheel=$(ls "$work"/dist/ticketbooth-*.whl)
fi
echo "wheel: $(basename "$wheel")"
sed "s|^\.[[:space:]]*$|$wheel|" binder/requirements.txt >"$work/requirements.txt"
grep -q "^$wheel$" "$work/requirements.txt" || fail "no '.' line to replace with the wheel"
"$py" -m venv "$work/venv"
# first what repo2docker's base environment holds (conda there; the same versions from PyPI
# here), so `pip check` sees the upgrades binder/requirements.txt makes over it
if ! "$work/venv/bin/python" -m pip install -r "$work/base-env.txt" >"$work/pip-base.log" 2>&1
then
  cat "$work/pip-base.log"
  fail "installing the base environment's packages ($(tr '\n' ' ' <"$work/base-env.txt")) failed"
fi
if ! "$work/venv/bin/python" -m pip install -r "$work/requirements.txt" >"$work/pip.log" 2>&1; then
  cat "$work/pip.log"
  fail "pip install -r binder/requirements.txt (with the wheel) failed in a fresh venv"
fi
awk '/^Successfully installed/ {print "installed", NF - 2, "packages"}' "$work/pip.log"
"$work/venv/bin/python" -m pip check || fail "pip check failed in the Binder environment"
(cd "$work" && "$work/venv/bin/python" - <<'EOF') || fail "the notebooks' imports fail"
import matplotlib, numpy, plotly.graph_objects, pyarrow
import ticketbooth, ticketbooth._widget as w

w._bundle_path()  # the widget's JS is in the installed package
print("imports ok: ticketbooth", ticketbooth.__version__, "numpy", numpy.__version__)
EOF

step "binder/ checks passed ((c): tests/integration/test_notebooks.py in tools/test.sh)"
