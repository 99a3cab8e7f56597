"""The front door holds: a short README that starts a learner, docs pages it links, links that
resolve, figures that a document shows, and a first example that prints what it says.

Links are checked the way a repository page renders them: a relative path must name a file of
the repository, and a #fragment must be the anchor of one of that file's headings (GitHub's
rule: lower case, punctuation dropped, spaces to hyphens).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *DOCS, ROOT / "benchmarks" / "RESULTS.md"]
README_LIMIT = 15_000  # characters
FIRST_SCREEN = 45  # lines

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """The anchors a repository page gives the Markdown headings of ``path``."""
    found, seen = set(), {}
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip()
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def local_links(path):
    """(target path, fragment) of every relative link in ``path``, outside code blocks."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        yield (path.parent / file_part).resolve() if file_part else path, fragment


def test_readme_is_short_and_starts_a_learner():
    text = README.read_text(encoding="utf-8")
    assert len(text) < README_LIMIT, f"README.md is {len(text)} characters; keep it under {README_LIMIT}"
    first_screen = text.splitlines()[:FIRST_SCREEN]
    assert "## Start here" in first_screen, "the README's first screen needs its 'Start here' section"
    for command in ('pip install -e ".[test]"', "python -m pytest"):
        assert any(command in line for line in first_screen), f"the first screen does not show {command}"


@pytest.mark.parametrize("page", [page for page in DOCS if page.name != "README.md"], ids=lambda page: page.name)
def test_every_docs_page_is_linked_from_the_readme(page):
    linked = {target for target, _ in local_links(README)}
    assert page.resolve() in linked, f"README.md links no docs/{page.name}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_links_resolve(document):
    broken = []
    for target, fragment in local_links(document):
        if not target.exists():
            broken.append(f"{target.relative_to(ROOT) if ROOT in target.parents else target}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in anchors(target):
            broken.append(f"{target.relative_to(ROOT)}#{fragment}: no such heading")
    assert not broken, f"{document.name}: broken links: {broken}"


def test_every_committed_figure_is_shown_somewhere():
    texts = [path.read_text(encoding="utf-8") for path in DOCUMENTS]
    texts += [path.read_text(encoding="utf-8") for path in (ROOT / "notebooks").glob("*.ipynb")]
    unused = [png.name for png in sorted((ROOT / "benchmarks" / "figures").glob("*.png"))
              if not any(png.name in text for text in texts)]
    assert not unused, f"figures no document shows (remove them or show them): {unused}"


def test_the_readme_example_prints_the_output_it_shows(tmp_path):
    """The README's Python example runs as a newcomer would paste it, and prints its comment."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README.md has no Python example"
    example = blocks[0]
    code_lines = [line for line in example.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code_lines) <= 15, f"the first example has {len(code_lines)} lines of code; the README promises 15"
    shown = [line[2:] for line in example.splitlines() if line.startswith("# ")]
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == shown
    backprop, numeric = (float(value) for value in re.findall(r"-?\d+\.\d+", result.stdout))
    assert abs(backprop - numeric) <= 1e-8 * max(1.0, abs(backprop)), result.stdout


@pytest.mark.parametrize("page", [page for page in DOCS if "```python" in page.read_text(encoding="utf-8")],
                         ids=lambda page: page.name)
def test_the_python_examples_of_the_docs_run(page, tmp_path):
    for example in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
        result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True,
                                timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, f"{page.name}: an example fails:\n{example}\n{result.stderr}"
