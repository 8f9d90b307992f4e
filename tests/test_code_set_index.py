"""The prebuilt code-set index: used when good, ignored when not, never the only source."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from coverage.codes import index_cache, tabular


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    tabular.load_code_set.cache_clear()
    yield folder
    tabular.load_code_set.cache_clear()


def _parse_forbidden(path: Path) -> dict:
    raise AssertionError("the tabular was parsed although a good index exists")


def test_first_load_writes_a_private_index_the_next_process_reads(own_cache, monkeypatch):
    parsed = tabular.load_code_set()
    (index,) = (own_cache / "ketamine-letters" / "code-sets").iterdir()
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert stat.S_IMODE(index.parent.stat().st_mode) == 0o700
    tabular.load_code_set.cache_clear()
    monkeypatch.setattr(tabular, "_parse_tabular", _parse_forbidden)
    indexed = tabular.load_code_set()
    assert indexed == parsed
    assert indexed.lookup("G90.521") == parsed.lookup("G90.521")
    assert indexed.notes_for("G89.29", tabular.EXCLUDES1) == parsed.notes_for(
        "G89.29", tabular.EXCLUDES1)


@pytest.mark.parametrize("damage", [b"", b"not marshal at all", b"\xe9\x00\x00\x00\x00"])
def test_a_damaged_index_means_the_tabular_is_parsed_again(own_cache, damage):
    parsed = tabular.load_code_set()
    (index,) = (own_cache / "ketamine-letters" / "code-sets").iterdir()
    index.write_bytes(damage)
    tabular.load_code_set.cache_clear()
    assert tabular.load_code_set() == parsed


def test_an_index_of_another_shape_is_not_trusted(own_cache):
    parsed = tabular.load_code_set()
    path = index_cache.index_path(tabular.bundled_tabular())
    index_cache.write_index(tabular.bundled_tabular(), {"entries": {"G90.521": ("x", True)}})
    assert path.is_file()
    tabular.load_code_set.cache_clear()
    assert tabular.load_code_set() == parsed


def test_an_edited_tabular_gets_a_new_index(own_cache, tmp_path):
    copy = tmp_path / "icd10cm-tabular-2026.xml"
    shutil.copyfile(tabular.bundled_tabular(), copy)
    before = index_cache.index_path(copy)
    facts = copy.stat()
    os.utime(copy, ns=(facts.st_atime_ns, facts.st_mtime_ns + 1_000_000_000))
    assert index_cache.index_path(copy) != before


def test_a_cache_folder_that_cannot_be_written_does_not_stop_a_command(own_cache):
    own_cache.write_text("a file where the cache folder should be", encoding="utf-8")
    assert tabular.load_code_set().lookup("G90.521") is not None
