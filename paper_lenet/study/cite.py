"""`paper-lenet cite [--format bibtex|text]`: how to cite this package and the paper, ready to paste.

The package's entry comes from CITATION.cff when it sits beside the package (a checkout; then the
git commit is added), else from SOFTWARE below (an installed package, which says "installed package:
no commit"), which a test keeps equal to CITATION.cff. The paper's facts are paper.CITATION.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import UserError
from ..paper import CITATION as PAPER
from ..runs.rundir import git_commit

CFF = Path(__file__).resolve().parents[2] / "CITATION.cff"
# CITATION.cff's fields, for an installed package without it (tests/test_cite.py checks them equal)
SOFTWARE = {
    "title": "paper_lenet: a tested PyTorch reproduction of LeNet-5 (LeCun et al., 1998)",
    "authors": ["The paper_lenet developers"],
    "version": "0.1.0",
    "date-released": "2026-11-29",
    "url": None,
}
FORMATS = ("bibtex", "text")
TEX_ACCENTS = {"é": r"{\'e}", "è": r"{\`e}", "ü": r"{\"u}", "ö": r"{\"o}", "ä": r"{\"a}"}


def _person(a: dict) -> str:
    return a.get("name") or f"{a.get('given-names', '')} {a.get('family-names', '')}".strip()


def software() -> dict:
    """Title, authors, version, date, url (None when unknown) and the git commit (None outside a checkout)."""
    if not CFF.is_file():
        return dict(SOFTWARE, commit=None)
    cff = yaml.safe_load(CFF.read_text())
    return {
        "title": cff["title"],
        "authors": [_person(a) for a in cff["authors"]],
        "version": str(cff["version"]),
        "date-released": str(cff.get("date-released", "")),
        "url": cff.get("url") or cff.get("repository-code"),
        "commit": git_commit(),
    }


def no_commit() -> str:
    """What the citation says where it has no commit to give."""
    return (
        "installed package: no commit" if not CFF.is_file() else "a checkout without git history: no commit"
    )


def _tex(s: str) -> str:
    s = s.replace("_", r"\_")
    for ch, tex in TEX_ACCENTS.items():
        s = s.replace(ch, tex)
    return s


def bibtex(sw: dict) -> str:
    fields = [
        ("title", "{" + _tex(sw["title"]) + "}"),
        ("author", " and ".join("{" + _tex(a) + "}" for a in sw["authors"])),  # braced: a group's name
        ("version", sw["version"]),
        ("year", sw["date-released"][:4]),
        ("date", sw["date-released"]),
    ]
    fields += [("url", sw["url"])] if sw["url"] else []
    fields += [("note", f"git commit {sw['commit']}" if sw["commit"] else no_commit())]
    p = PAPER
    paper = [
        ("author", " and ".join(f"{_tex(f)}, {_tex(g)}" for f, g in p["authors"])),
        ("title", "{" + p["title"] + "}"),
        ("journal", p["journal"]),
        ("volume", p["volume"]),
        ("number", p["issue"]),
        ("pages", f"{p['start']}--{p['end']}"),
        ("year", p["year"]),
        ("doi", p["doi"]),
    ]
    return _entry("software", "paper_lenet", fields) + "\n" + _entry("article", "lecun1998gradient", paper)


def _entry(kind: str, key: str, fields) -> str:
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def text(sw: dict) -> str:
    commit = f", git commit {sw['commit']}" if sw["commit"] else f", {no_commit()}"
    url = f" {sw['url']}" if sw["url"] else ""
    p = PAPER
    names = [f"{g[0]}. {f}" for f, g in p["authors"]]
    return (
        f"{', '.join(sw['authors'])}. {sw['title']}. Version {sw['version']} "
        f"({sw['date-released']}{commit}).{url}\n"
        f"{', '.join(names[:-1])} and {names[-1]}. {p['title']}. {p['journal']}, {p['volume']}({p['issue']}):"
        f"{p['start']}-{p['end']}, {p['year']}. doi:{p['doi']}\n"
    )


def cite(fmt: str = "bibtex") -> str:
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: unknown; choose one of {', '.join(FORMATS)}")
    sw = software()
    return bibtex(sw) if fmt == "bibtex" else text(sw)
