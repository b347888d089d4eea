"""paper-lenet cite: valid BibTeX (parsed here) with the package's and the paper's fields, and the
constants an installed package falls back on equal to CITATION.cff."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import paper_lenet
from paper_lenet.cli import main
from paper_lenet.paper import CITATION
from paper_lenet.study import cite as C

ROOT = Path(__file__).resolve().parents[1]
CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text())


def braced(s: str, i: int) -> int:
    """Index just past the group that opens with the brace at s[i]; fails on unbalanced braces."""
    assert s[i] == "{", s[i : i + 20]
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0) if s[j - 1] != "\\" else 0
        if depth == 0:
            return j + 1
    raise AssertionError("unbalanced braces")


def parse_bibtex(text: str) -> dict:
    """{key: (type, {field: value})}: every entry @type{key, name = {value}, ...}; nothing else allowed."""
    entries, i = {}, 0
    while True:
        m = re.compile(r"\s*@(\w+)\s*").match(text, i)
        if not m:
            assert not text[i:].strip(), f"junk after the entries: {text[i:]!r}"
            return entries
        end = braced(text, m.end())
        body = text[m.end() + 1 : end - 1]
        key, _, rest = body.partition(",")
        assert re.fullmatch(r"[A-Za-z0-9_:.\-]+", key.strip()), key
        fields, j = {}, 0
        while rest[j:].strip():
            f = re.compile(r"\s*(\w+)\s*=\s*").match(rest, j)
            assert f, rest[j:]
            close = braced(rest, f.end())
            name = f[1].lower()
            assert name not in fields, f"field {name} twice"
            fields[name] = rest[f.end() + 1 : close - 1]
            j = close
            tail = re.compile(r"\s*,?").match(rest, j)
            j = tail.end()
        entries[key.strip()] = (m[1].lower(), fields)
        i = end


def test_bibtex_parses_with_the_package_and_the_paper():
    entries = parse_bibtex(C.cite("bibtex"))
    kind, sw = entries["paper_lenet"]
    assert kind == "software" and sw["version"] == paper_lenet.__version__ == str(CFF["version"])
    assert (
        sw["title"] == "{" + CFF["title"].replace("_", r"\_") + "}" and sw["year"] == CFF["date-released"][:4]
    )
    kind, p = entries["lecun1998gradient"]
    assert kind == "article"
    assert p["author"] == r"LeCun, Yann and Bottou, L{\'e}on and Bengio, Yoshua and Haffner, Patrick"
    assert p["title"] == "{Gradient-Based Learning Applied to Document Recognition}"
    assert (p["journal"], p["volume"], p["number"], p["pages"], p["year"], p["doi"]) == (
        "Proceedings of the IEEE",
        "86",
        "11",
        "2278--2324",
        "1998",
        "10.1109/5.726791",
    )


def test_text_format_and_unknown_format(capsys):
    assert main(["cite", "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert f"Version {paper_lenet.__version__}" in out
    assert (
        "Y. LeCun, L. Bottou, Y. Bengio and P. Haffner" in out
        and "86(11):2278-2324, 1998. doi:10.1109/5.726791" in out
    )
    assert main(["cite", "--format", "ris"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--format ris" in err


def test_installed_package_fallback_equals_citation_cff(monkeypatch):
    cff = {
        "title": CFF["title"],
        "authors": [a["name"] for a in CFF["authors"]],
        "version": str(CFF["version"]),
        "date-released": str(CFF["date-released"]),
        "url": CFF.get("url") or CFF.get("repository-code"),
    }
    assert C.SOFTWARE == cff
    monkeypatch.setattr(C, "CFF", ROOT / "no-such-CITATION.cff")  # as when pip-installed elsewhere
    assert C.software() == dict(cff, commit=None)
    assert parse_bibtex(C.cite("bibtex"))["paper_lenet"][1]["note"] == "installed package: no commit"
    assert f"({cff['date-released']}, installed package: no commit)." in C.cite(
        "text"
    )  # says why, not silence
    assert paper_lenet.__version__ == cff["version"]  # pyproject.toml reads it from paper_lenet/_version.py


def test_paper_facts_equal_citation_cff_reference():
    (ref,) = CFF["references"]
    assert CITATION["authors"] == tuple((a["family-names"], a["given-names"]) for a in ref["authors"])
    for k in ("title", "journal", "volume", "issue", "start", "end", "year"):
        assert CITATION[k] == ref[k], k
    assert CITATION["doi"] == str(ref["doi"])


def test_train_help_says_a_config_is_a_name_or_a_file(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "config name (e.g. lenet5_1998) or YAML file" in " ".join(capsys.readouterr().out.split())
