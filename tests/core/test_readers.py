"""The one input boundary (bridgebayes/core/readers.py): strict numbers, UTF-8 only, ragged
rows, TOML/JSON/NetCDF problems as BridgeBayesError naming the file, line, column, value."""

from __future__ import annotations

import codecs
import re

import numpy as np
import pytest

from bridgebayes.core.errors import BridgeBayesError, SpecError
from bridgebayes.core.readers import (
    open_netcdf,
    parse_number,
    read_csv_table,
    read_json,
    read_text,
    read_toml,
)


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12.0), ("-3.5", -3.5), (" 7 ", 7.0), (".5", 0.5), ("1.", 1.0), ("+2", 2.0),
    ("1e-3", 1e-3), ("1E+3", 1000.0), ("0", 0.0), ("0e-400", 0.0), ("1.7e308", 1.7e308),
])
def test_plain_numbers_are_accepted(text, value):
    assert parse_number(text, where="x") == value


@pytest.mark.parametrize(("text", "why"), [
    ("2_0", r"no '_' digit separators"),  # float() reads it as 20
    ("1_000.5", r"no '_' digit separators"),
    ("inf", r"not-a-number and infinity are not accepted"),
    ("-Infinity", r"not-a-number and infinity are not accepted"),
    ("nan", r"not-a-number and infinity are not accepted"),
    ("0x1A", r"no hexadecimal"),
    ("12,5", r"use a decimal point, not a comma"),
    ("\u0661\u0662", r"digits with an optional decimal point"),  # Arabic-Indic digits
    ("\uff11\uff12", r"digits with an optional decimal point"),  # full-width digits
    ("12 months", r"no units or text"), ("", r"digits"), ("-", r"digits"), ("1e", r"digits"),
    ("--1", r"digits"), ("1.2.3", r"digits"),
    ("1e400", r"too large \(beyond the floating-point range\)"),
    ("-1e309", r"too large"),
    ("1e-400", r"too small \(rounds to zero\)"),
])
def test_anything_else_is_refused_with_the_reason_and_where(text, why):
    with pytest.raises(BridgeBayesError, match=r"^cohort.csv, line 3: " + re.escape(repr(text))
                       + r" is .*" + why):
        parse_number(text, where="cohort.csv, line 3")


def test_parse_number_takes_the_callers_error_class():
    with pytest.raises(SpecError):
        parse_number("x", where="k", error=SpecError)
    with pytest.raises(BridgeBayesError, match=r"expected a number as text, got 3"):
        parse_number(3, where="k")


def test_read_text_accepts_utf8_with_or_without_bom(tmp_path):
    path = tmp_path / "a.txt"
    for raw in ("héllo\n".encode(), codecs.BOM_UTF8 + "héllo\n".encode()):
        path.write_bytes(raw)
        assert read_text(path) == "héllo\n"


@pytest.mark.parametrize(("raw", "pattern"), [
    ("héllo".encode("utf-16"), r"is UTF-16 text; re-save it as UTF-8"),
    ("héllo".encode("utf-16-be"), r"contains NUL bytes \(first on line 1\)"),
    ("héllo".encode("utf-32"), r"is UTF-32 text"),
    ("a\nb\nhéllo".encode("cp1252"), r"not UTF-8 text \(byte 0xe9 on line 3, column 2"),
    (b"\xd0\xcf\x11\xe0" + bytes(20), r"an old-style Excel/Office file"),
])
def test_read_text_refuses_other_encodings_naming_the_file(tmp_path, raw, pattern):
    path = tmp_path / "notes.txt"
    path.write_bytes(raw)
    with pytest.raises(BridgeBayesError, match=re.escape(f"{path}: the notes ") + ".*" + pattern):
        read_text(path, what="notes")


def test_missing_file_folder_and_unreadable_file_are_named(tmp_path):
    with pytest.raises(BridgeBayesError, match=re.escape(f"{tmp_path / 'x.csv'}: file not "
                                                         "found (expected a cohort CSV)")):
        read_text(tmp_path / "x.csv", what="cohort CSV")
    with pytest.raises(BridgeBayesError, match=re.escape(f"{tmp_path}: is a folder")):
        read_text(tmp_path)


def test_csv_rows_keep_their_file_lines_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(' id , arm \r\nP1,a\r\n\r\n"P\n2",b\r\nP3,"c,d"\r\n,\r\n')
    table = read_csv_table(path)
    assert table.header == ("id", "arm")
    assert table.rows == (("P1", "a"), ("P\n2", "b"), ("P3", "c,d"), ("", ""))
    assert table.lines == (2, 4, 6, 7)
    assert table.column("arm") == ["a", "b", "c,d", ""]


@pytest.mark.parametrize(("text", "pattern"), [
    ("id,arm\nP1,a,x\n", r"line 2 has 3 fields but the header has 2: a comma too many"),
    ("id,arm\nP1\n", r"line 2 has 1 field but the header has 2: a missing cell"),
    ("id,arm\nP1,a\nP2\nP3\n", r"line 3 has 1 field .* \(and 1 more line\(s\)\)"),
    ("id,arm\nP1,\"a\n", r"line 2: malformed CSV"),
    ("id,,arm\n1,2,3\n", r"line 1: column\(s\) \[2\] of the header have no name"),
    ("id,arm,id\n1,2,3\n", r"line 1: duplicate column names: \['id'\]"),
    ("id; arm\n1;2\n", r"the CSV table is separated by semicolons; save it with commas"),
    ("id\tarm\n1\t2\n", r"the CSV table is separated by tabs"),
    ("\n \n", r"the CSV table is empty"),
])
def test_malformed_csv_is_refused_naming_file_and_line(tmp_path, text, pattern):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(BridgeBayesError, match=re.escape(f"{path}: ") + pattern):
        read_csv_table(path)


def test_read_toml_returns_raw_bytes_and_accepts_a_bom(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(codecs.BOM_UTF8 + b"a = 1\n")
    raw, doc = read_toml(path, SpecError)
    assert raw.startswith(codecs.BOM_UTF8) and doc == {"a": 1}


@pytest.mark.parametrize(("raw", "pattern"), [
    (b"a = 1\nb = ", r"not valid TOML: Invalid value \(at end of document\)"),
    (b"a = 1\nb = 2 3\n", r"not valid TOML: .*\(at line 2, column 7\)"),
    (b"a = " + b"1" * 5000, r"not valid TOML: Exceeds the limit"),  # int() refuses, not tomllib
    (b"a = " + b"[" * 5000 + b"]" * 5000, r"not valid TOML"),
    ("a = 'é'".encode("utf-16"), r"the TOML file is UTF-16 text"),
    (b"[b]\nc = [1, " + b"9" * 400 + b"]\n",
     r"key 'b\.c\[1\]': integer 999999999999\.\.\.\(400 digits\) is outside TOML's 64-bit"),
    (b"a = 9223372036854775808\n", r"key 'a': integer 9223372036854775808 is outside"),
    (b"a = -9223372036854775809\n", r"key 'a': integer -9223372036854775809 is outside"),
])
def test_bad_toml_is_named(tmp_path, raw, pattern):
    path = tmp_path / "s.toml"
    path.write_bytes(raw)
    with pytest.raises(SpecError, match=re.escape(f"{path}: ") + pattern):
        read_toml(path, SpecError)


@pytest.mark.parametrize(("text", "pattern"), [
    ('{"a": ', r"not valid JSON \(Expecting value, line 1, column 7\)"),
    ('{"a": NaN}', r"not valid JSON \(non-finite number NaN\)"),
    ('{"a": -Infinity}', r"not valid JSON \(non-finite number -Infinity\)"),
    ('{"a": ' + "1" * 5000 + "}", r"not valid JSON \(Exceeds the limit"),
])
def test_bad_json_is_named(tmp_path, text, pattern):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(BridgeBayesError, match=re.escape(f"{path}: ") + pattern):
        read_json(path)
    path.write_text('{"converged": true}')
    assert read_json(path) == {"converged": True}


@pytest.fixture(scope="module")
def posterior(tmp_path_factory):
    import arviz as az

    path = tmp_path_factory.mktemp("nc") / "fit.nc"
    az.from_dict(posterior={"log_hr": np.zeros((2, 20))}).to_netcdf(str(path))
    return path


def test_open_netcdf_reads_a_posterior(posterior):
    assert open_netcdf(posterior).posterior["log_hr"].shape == (2, 20)


@pytest.mark.parametrize(("damage", "pattern"), [
    ("empty", r"the posterior file is empty \(an interrupted write\?\)"),
    ("truncated", r"not a readable posterior file \(truncated or not NetCDF: "),
    ("csv", r"not a readable posterior file"),
    ("random", r"not a readable posterior file"),
    ("foreign", r"not a posterior file: the NetCDF file has no posterior group"),
    ("missing", r"file not found"),
    ("folder", r"is a folder"),
])
def test_a_damaged_or_foreign_netcdf_is_a_named_error(tmp_path, posterior, damage, pattern):
    import xarray as xr

    path = tmp_path / "fit.nc"
    raw = posterior.read_bytes()
    if damage == "folder":
        path.mkdir()
    elif damage == "foreign":
        xr.Dataset({"y": ("t", np.arange(3))}).to_netcdf(path)
    elif damage != "missing":
        path.write_bytes({"empty": b"", "truncated": raw[:len(raw) // 2], "csv": b"a,b\n1,2\n",
                          "random": np.random.default_rng(1).bytes(4000)}[damage])
    with pytest.raises(BridgeBayesError, match=re.escape(f"{path}: ") + pattern):
        open_netcdf(path)
