"""Provenance: the code version that keys every stored result."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import bridgebayes
from bridgebayes.core.provenance import code_version, package_version, tree_digest

PACKAGE = Path(bridgebayes.__file__).resolve().parent


def test_code_version_is_the_version_and_a_digest():
    assert re.fullmatch(re.escape(package_version()) + r"\+[0-9a-f]{16}", code_version())


def test_tree_digest_follows_every_code_byte_and_name_but_not_compiled_caches(tmp_path):
    tree = tmp_path / "bridgebayes"
    shutil.copytree(PACKAGE, tree, ignore=shutil.ignore_patterns("__pycache__"))
    key = tree_digest(tree)
    assert key == tree_digest(PACKAGE)  # where the tree is does not count
    (tree / "__pycache__").mkdir(exist_ok=True)
    (tree / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert tree_digest(tree) == key
    template = tree / "report" / "templates" / "report.html.j2"
    template.write_text(template.read_text() + " ")
    assert tree_digest(tree) != key
    template.write_text(template.read_text()[:-1])
    assert tree_digest(tree) == key
    (tree / "core" / "errors.py").rename(tree / "core" / "errors2.py")
    assert tree_digest(tree) != key  # a renamed module is another program
