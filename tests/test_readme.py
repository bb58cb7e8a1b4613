"""The README's Python snippets must run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_snippets_run():
    snippets = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert snippets, "README has no python snippet"
    for snippet in snippets:
        exec(compile(snippet, str(README), "exec"), {})


def test_readme_is_a_front_door_of_at_most_200_lines_whose_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|src=\"([^\"]+)\"", text)
    targets = [a or b for a, b in links if not (a or b).startswith("http")]
    assert targets, "README links no docs page"
    for target in targets:
        assert (README.parent / target).exists(), target
