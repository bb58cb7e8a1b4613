"""Back-port LeRobot 0.6.x's Python-3.12-only syntax (PEP 695) so it runs on Python 3.11 (idempotent).

    python scripts/patch_lerobot_py311.py VENV/lib/python3.11/site-packages/lerobot

Why: LeRobot >= 0.5 declares Requires-Python >= 3.12, but the only CPU build of torch 2.13 on this
machine's wheel folder is cp311 (a cp312 torch would be PyPI's multi-GB CUDA build). 0.6.1 uses
PEP 695 in a handful of module-level statements and nothing else 3.12-only; they become:

    type Name = expr                       ->  Name = expr
    class C[T, U](Base):                   ->  T = TypeVar("T") ...; class C(Base, Generic[T, U]):
    def f[T: Bound](...)                   ->  T = TypeVar("T", bound=Bound); def f(...)

Afterwards every file of the package must compile on this interpreter, or the script fails.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TYPE_ALIAS = re.compile(r"^type (\w+) = ", re.M)
GENERIC_DEF = re.compile(r"^((?:@.*\n)*)(class|def) (\w+)\[([^\]]+)\]", re.M)  # with its decorators


def _typevars(params: str) -> tuple[list[str], list[str]]:
    names, lines = [], []
    for param in (p.strip() for p in params.split(",")):
        name, _, bound = (part.strip() for part in param.partition(":"))
        names.append(name)
        lines.append(f'{name} = TypeVar("{name}", bound={bound})' if bound else f'{name} = TypeVar("{name}")')
    return names, lines


def patch_source(source: str) -> str:
    source = TYPE_ALIAS.sub(r"\1 = ", source)

    def generic(match: re.Match) -> str:
        decorators, kind, name, params = match.groups()
        names, lines = _typevars(params)
        header = "from typing import Generic as _Generic, TypeVar\n" + "\n".join(lines) + "\n\n\n"
        if kind == "def":
            return f"{header}{decorators}def {name}"
        return f"{header}{decorators}class {name}[{', '.join(names)}]"  # bases fixed below

    source = GENERIC_DEF.sub(generic, source)
    # class C[T, U](Base): -> class C(Base, _Generic[T, U]):   class C[T]: -> class C(_Generic[T]):
    source = re.sub(
        r"^class (\w+)\[([^\]]+)\]\(([^)]*)\):",
        lambda m: (
            f"class {m[1]}({m[3]}, _Generic[{m[2]}]):" if m[3].strip() else f"class {m[1]}(_Generic[{m[2]}]):"
        ),
        source,
        flags=re.M,
    )
    source = re.sub(r"^class (\w+)\[([^\]]+)\]:", r"class \1(_Generic[\2]):", source, flags=re.M)
    return source


def main(package: Path) -> int:
    if not (package / "__init__.py").is_file():
        print(f"not a package folder: {package}", file=sys.stderr)
        return 2
    changed = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        patched = patch_source(source)
        if patched != source:
            path.write_text(patched)
            changed.append(path.relative_to(package))
    broken = []
    for path in sorted(package.rglob("*.py")):
        try:
            compile(path.read_text(), str(path), "exec")
        except SyntaxError as error:
            broken.append(f"{path.relative_to(package)}:{error.lineno}: {error.msg}")
    print(f"patched {len(changed)} file(s): {', '.join(map(str, changed)) or 'none (already patched)'}")
    if broken:
        print(
            "still not valid Python " + sys.version.split()[0] + ":\n  " + "\n  ".join(broken),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
