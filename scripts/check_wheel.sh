#!/usr/bin/env bash
# A real wheel: build grids-vla as a user would (`python -m build`), install the wheel with its dependencies
# into a clean venv that holds only torch 2.13.0, and run `import grids` plus the README's first python block
# from outside the source tree.
#   bash scripts/check_wheel.sh
# Also checks the wheel's contents (no tests/ or benchmarks/, every non-.py file under grids/ present) and its
# metadata (requires-python, dependencies, readme, the `grids` console script).
# Environment: VENV (default .venv: runs `build`), PYTHON (default python3: makes the clean venv).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH=torch==2.13.0   # pinned on every pip line: a bare `torch` would pull a multi-GB CUDA build
step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'check_wheel: FAIL: %s\n' "$*" >&2; exit 1; }
start=$(date +%s)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/grids-wheel.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

step "copying the source tree (less git-ignored files: no build/ or egg-info leaks into the wheel)"
# The working tree less what git ignores: what a fresh clone holds, plus uncommitted (and new) files.
mkdir "$TMP/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$TMP/src"

step "building sdist and wheel (python -m build: the wheel is built from the sdist)"
"$VENV/bin/python" -c 'import build' 2>/dev/null || "$VENV/bin/python" -m pip install -q build
"$VENV/bin/python" -m build --outdir "$TMP/dist" "$TMP/src" > "$TMP/build.log" 2>&1 \
    || { tail -n 40 "$TMP/build.log"; fail "python -m build"; }
WHEEL=$(ls "$TMP"/dist/grids_vla-*.whl)
SDIST=$(ls "$TMP"/dist/grids_vla-*.tar.gz)
ls -l "$TMP"/dist | tail -n +2

step "checking the wheel's contents and metadata"
"$VENV/bin/python" - "$WHEEL" "$REPO" <<'EOF'
import os, subprocess, sys, zipfile
from email.parser import Parser
from pathlib import PurePosixPath

wheel, repo = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
errors = []
tops = sorted({n.split("/")[0] for n in names})
print("top-level entries:", ", ".join(tops))
for top in tops:  # grids/ and its dist-info only: no tests/, benchmarks/, scripts/ or plugins/
    if top != "grids" and not top.endswith(".dist-info"):
        errors.append(f"unexpected top-level entry in the wheel: {top}")
# Every file under grids/ that git does not ignore and that is not Python source is package data:
# the wheel must carry it.
tracked = subprocess.run(["git", "-C", repo, "ls-files", "--cached", "--others", "--exclude-standard", "grids"],
                         check=True, capture_output=True, text=True).stdout.split()
tracked = [f for f in tracked if os.path.isfile(os.path.join(repo, f))]  # less deleted-but-tracked files
data = [f for f in tracked if PurePosixPath(f).suffix not in (".py", ".pyc")]
for f in data:
    if f not in names:
        errors.append(f"package data missing from the wheel: {f}")
modules = [f for f in tracked if f.endswith(".py")]
for f in modules:
    if f not in names:
        errors.append(f"module missing from the wheel: {f}")
print(f"{len(modules)} modules, {len(data)} data files: {', '.join(data) or '-'}")

meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
meta = Parser().parsestr(zipfile.ZipFile(wheel).read(meta_name).decode())
print("Requires-Python:", meta["Requires-Python"])
print("Requires-Dist (base):", "; ".join(r for r in meta.get_all("Requires-Dist") if "extra ==" not in r))
print("Provides-Extra:", ", ".join(meta.get_all("Provides-Extra") or []))
print("Description-Content-Type:", meta["Description-Content-Type"])
if not (meta["Requires-Python"] or "").startswith(">=3.10"):
    errors.append(f"Requires-Python is {meta['Requires-Python']!r}")
base = [r.split(";")[0].replace(" ", "") for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
for dep in ("torch>=2.4", "numpy", "einops"):
    if not any(r.startswith(dep) for r in base):
        errors.append(f"base dependency missing: {dep}")
if meta["Description-Content-Type"] != "text/markdown" or len(meta.get_payload() or "") < 200:
    errors.append("the README is not the wheel's long description")
ep = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
if ep is None or "grids = grids.cli.main:main" not in zipfile.ZipFile(wheel).read(ep).decode():
    errors.append("console script `grids` missing")
for e in errors:
    print("  error:", e)
sys.exit(1 if errors else 0)
EOF
tar -tzf "$SDIST" | grep '/README.md$' > /dev/null || fail "README.md missing from the sdist"

step "creating a clean venv with only $TORCH"
"$PYTHON" -m venv "$TMP/venv"
PY="$TMP/venv/bin/python"
"$PY" -m pip install -q "$TORCH"

step "installing the wheel with its dependencies ($TORCH pinned on the same line)"
"$PY" -m pip install -q "$WHEEL" "$TORCH"
"$PY" -m pip check
"$PY" -m pip list 2>/dev/null | tail -n +3 | awk '{printf "%s %s  ", $1, $2} END {print ""}'

step "import grids from outside the source tree"
mkdir "$TMP/run"
cd "$TMP/run"
"$PY" - <<'EOF'
import grids
import pathlib
where = pathlib.Path(grids.__file__).resolve()
assert "site-packages" in where.parts, f"grids imported from {where}, not the installed wheel"
print("grids", grids.__version__, "from", where.parent)
EOF
"$TMP/venv/bin/grids" --help > /dev/null || fail "the grids console script"

step "running the README's first python block"
"$PY" - "$REPO/README.md" > readme_snippet.py <<'EOF'
import re, sys
blocks = re.findall(r"^```python[^\n]*\n(.*?)^```", open(sys.argv[1]).read(), re.M | re.S)
if not blocks:
    sys.exit("no ```python block in README.md")
print(blocks[0], end="")
EOF
sed 's/^/    | /' readme_snippet.py
"$PY" readme_snippet.py || fail "the README's first python block"

cd "$REPO"
rm -rf "$TMP"   # inside the timing: removing a venv with torch takes a while on a busy disk
step "wheel check passed in $(( $(date +%s) - start )) s"
