"""`rollout cohort` on a Dunnhumby folder: success, and every kind of bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.data.contract import load_cohort


def _run(args: list[str]):
    return CliRunner().invoke(cli, ["cohort", *args])


def _assert_refused(result, out_dir: Path, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)
    assert list(out_dir.iterdir()) == [], "nothing may be written on bad input"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_builds_from_a_dunnhumby_folder(slice_dirs: tuple[Path, Path], out_dir: Path) -> None:
    result = _run(["--dunnhumby", str(slice_dirs[1]), "-o", str(out_dir / "c.parquet"),
                   "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    cohort = load_cohort(out_dir / "c.parquet")
    assert doc["n"] == cohort.n == doc["n_treated"] + doc["n_control"]
    attrition = pd.read_parquet(out_dir / "c.attrition.parquet")
    assert attrition.to_dict(orient="records") == doc["attrition"]
    table = _run(["--dunnhumby", str(slice_dirs[1]), "-o", str(out_dir / "d.parquet")])
    assert table.exit_code == 0 and "Attrition" in table.output and "treated" in table.output


def test_missing_folder(tmp_path: Path, out_dir: Path) -> None:
    result = _run(["--dunnhumby", str(tmp_path / "nowhere"), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "nowhere", "does not exist")


def test_missing_file(csv_copy: Path, out_dir: Path) -> None:
    (csv_copy / "coupon.csv").unlink()
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "coupon.csv", "file not found")


def test_missing_column(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "transaction_data.csv"
    pd.read_csv(path).drop(columns="WEEK_NO").to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "transaction_data.csv", "'WEEK_NO'", "missing column")


def test_wrong_column_type(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "transaction_data.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[4, "SALES_VALUE"] = "4,99"
    frame.to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "transaction_data.csv", "'SALES_VALUE'", "row 5",
                    "'4,99' is not a number")


def test_missing_value(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "campaign_table.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[2, "household_key"] = None
    frame.to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "campaign_table.csv", "'household_key'", "row 3",
                    "missing value")


def test_duplicate_rows(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "campaign_desc.csv"
    frame = pd.read_csv(path)
    pd.concat([frame, frame.iloc[[3]]], ignore_index=True).to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "campaign_desc.csv", "'CAMPAIGN'",
                    f"row {len(frame) + 1}", "duplicate row")


def test_membership_of_an_undescribed_campaign(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "campaign_table.csv"
    frame = pd.read_csv(path)
    frame.loc[0, "CAMPAIGN"] = 777
    frame.to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "campaign_table.csv", "campaign 777", "row 1")


def test_unknown_campaign_type(slice_dirs: tuple[Path, Path], out_dir: Path) -> None:
    result = _run(["--dunnhumby", str(slice_dirs[1]), "--campaign-type", "Z",
                   "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "campaign_desc.csv", "unknown campaign type 'Z'",
                    "known types: A, B, C")


def test_window_past_the_end_of_the_data(slice_dirs: tuple[Path, Path], out_dir: Path) -> None:
    result = _run(["--dunnhumby", str(slice_dirs[1]), "--window-weeks", "60",
                   "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "window past the end of the data", "option --window-weeks",
                    "a window of 60 weeks")


def test_negative_window(slice_dirs: tuple[Path, Path], out_dir: Path) -> None:
    result = _run(["--dunnhumby", str(slice_dirs[1]), "--window-weeks", "-1",
                   "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "option --window-weeks: must be 0 or more")


def test_empty_cohort(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "campaign_table.csv"
    frame = pd.read_csv(path)
    frame[frame["DESCRIPTION"] != "TypeC"].to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "--campaign-type", "C",
                   "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "empty cohort", "'C'")


def test_source_and_folder_together_is_a_usage_error(slice_dirs: tuple[Path, Path],
                                                     out_dir: Path) -> None:
    result = _run(["--source", "completejourney", "--dunnhumby", str(slice_dirs[1]),
                   "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "give one of --source, --dunnhumby and --parquet",
                    "not --source and --dunnhumby")


def test_failed_run_keeps_the_previous_output(slice_dirs: tuple[Path, Path],
                                             out_dir: Path) -> None:
    target = out_dir / "c.parquet"
    assert _run(["--dunnhumby", str(slice_dirs[1]), "-o", str(target)]).exit_code == 0
    before = target.read_bytes()
    result = _run(["--dunnhumby", str(slice_dirs[1]), "--campaign-type", "Z",
                   "-o", str(target)])
    assert result.exit_code == 2
    assert target.read_bytes() == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["c.attrition.parquet", "c.parquet"]


def test_fractional_value_in_an_integer_column(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "transaction_data.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[7, "DAY"] = "1.5"
    frame.to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "transaction_data.csv", "'DAY'", "row 8",
                    "'1.5' is not an integer")


def test_day_in_the_wrong_week(csv_copy: Path, out_dir: Path) -> None:
    path = csv_copy / "transaction_data.csv"
    frame = pd.read_csv(path)
    frame.loc[9, "DAY"] = frame["DAY"].max() + 30  # a day weeks after the recorded WEEK_NO
    frame.to_csv(path, index=False)
    result = _run(["--dunnhumby", str(csv_copy), "-o", str(out_dir / "c.parquet")])
    _assert_refused(result, out_dir, "transaction_data.csv", "'WEEK_NO'", "row 10",
                    "no calendar of seven-day weeks")


def test_duckdb_never_prints_its_progress_bar_on_stdout() -> None:
    """stdout may carry the one JSON document; DuckDB's bar would write into it."""
    from rollout.data.build import _connect

    con = _connect()
    try:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
    finally:
        con.close()
