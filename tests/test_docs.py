"""The documentation stays short and true: the README is at most 150 lines, every relative link in the README,
docs/ and benchmarks/ points at a file (and a heading) that exists, and every ``python -m seg_core COMMAND`` the
text mentions is a command of the real parser (``seg_core/cli/parser.py``)."""
from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

import pytest

from conftest import ROOT

README_MAX_LINES = 150
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")  # [text](target); images are not links
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
COMMAND = re.compile(r"-m\s+seg_core\s+([a-z][a-z_-]*)")  # python -m seg_core CMD, torchrun ... -m seg_core CMD


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md",
            *sorted((ROOT / "benchmarks" / "results").glob("*.md"))]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip()).lower()
    text = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (outside code blocks); a repeated one gets -1, -2 ..."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            s = slug(m.group(1))
            out.add(s if s not in seen else f"{s}-{seen[s]}")
            seen[s] = seen.get(s, 0) + 1
    return out


def broken_links(path: Path) -> list[str]:
    """Each relative link of ``path`` whose file (or heading) does not exist, as 'FILE: TARGET (why)'."""
    problems = []
    for target in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            problems.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{path.relative_to(ROOT)}: {target} (no such heading in {dest.name})")
    return problems


def cli_commands() -> set[str]:
    """The commands of ``python -m seg_core``, read from the real parser (only one command's flags are built,
    so no torch loads)."""
    from seg_core.cli.parser import GRAMMAR, parser

    ap = parser(next(iter(GRAMMAR)))
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def unknown_commands(path: Path, commands: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}: python -m seg_core {c}"
            for c in COMMAND.findall(path.read_text(encoding="utf-8")) if c not in commands]


def test_the_readme_is_at_most_150_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_documents_exist():
    for name in ("app", "cli", "training", "export", "architecture", "development"):
        assert (ROOT / "docs" / f"{name}.md").is_file(), f"docs/{name}.md is missing"
    assert (ROOT / "benchmarks" / "README.md").is_file()


def test_every_relative_link_points_at_a_file_and_heading_that_exist():
    problems = [p for f in doc_files() for p in broken_links(f)]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_every_command_the_docs_name_is_one_the_cli_has():
    commands = cli_commands()
    assert {"train", "predict", "import"} <= commands  # the parser was read, not an empty set
    problems = [p for f in doc_files() for p in unknown_commands(f, commands)]
    assert not problems, "commands the CLI does not have:\n" + "\n".join(problems)


def test_every_command_of_the_cli_has_its_section_in_docs_cli():
    have = anchors(ROOT / "docs" / "cli.md")
    missing = sorted(c for c in cli_commands() if c not in have)
    assert not missing, f"docs/cli.md has no section for: {', '.join(missing)}"


# -- the checks themselves catch what they are for ------------------------------------------------------
def test_the_checks_report_a_missing_file_a_missing_heading_and_an_unknown_command(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# A heading: with `code` & more\n")
    doc = tmp_path / "doc.md"
    doc.write_text("[ok](other.md#a-heading-with-code--more) [gone](missing.md) [bad](other.md#nope)\n"
                   "[web](https://example.org/x.md) ![img](missing.png)\n"
                   "```\n[in code](nowhere.md)\n```\n"
                   "Run `python -m seg_core train` or `python -m seg_core trian --data D`.\n")
    assert broken_links(doc) == ["doc.md: missing.md (no such file)", "doc.md: other.md#nope (no such heading in other.md)"]
    assert unknown_commands(doc, {"train"}) == ["doc.md: python -m seg_core trian"]


@pytest.mark.parametrize("heading, anchor", [("Runs & export", "runs--export"), ("`measure`", "measure"),
                                             ("Objects: count, separate, measure", "objects-count-separate-measure")])
def test_headings_become_githubs_anchors(heading, anchor):
    assert slug(heading) == anchor
