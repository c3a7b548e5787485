"""Both sources give the same tidy history and the same cohort for the same underlying data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from rollout.data import build_cohort
from rollout.data.completejourney import CompleteJourneySource
from rollout.data.dunnhumby import DunnhumbySource
from rollout.data.history import open_history
from rollout.data.sources import resolve_source
from rollout.errors import InputError


def _tidy(source, table: str, order: str) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        open_history(source, con)
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").df()
    finally:
        con.close()


def test_discounts_are_non_negative_in_both_sources(slice_dirs: tuple[Path, Path]) -> None:
    parquet_dir, csv_dir = slice_dirs
    raw = pd.read_csv(csv_dir / "transaction_data.csv")
    assert (raw["RETAIL_DISC"] <= 0).all() and (raw["RETAIL_DISC"] < 0).any()  # CSV convention
    order = "basket_id, product_id, sales_value, retail_disc"
    a = _tidy(CompleteJourneySource(parquet_dir), "transactions", order)
    b = _tidy(DunnhumbySource(csv_dir), "transactions", order)
    for column in ("retail_disc", "coupon_disc", "coupon_match_disc"):
        assert (a[column] >= 0).all() and (b[column] >= 0).all()
        assert a[column].sum() == pytest.approx(b[column].sum())
    assert a.drop(columns="day_no").equals(b.drop(columns="day_no"))
    # Day numbers may start elsewhere, but gaps between days are the same.
    assert (a["day_no"] - b["day_no"]).nunique() == 1


def test_campaign_weeks_agree(slice_dirs: tuple[Path, Path]) -> None:
    parquet_dir, csv_dir = slice_dirs
    a = _tidy(CompleteJourneySource(parquet_dir), "campaigns", "campaign_id")
    b = _tidy(DunnhumbySource(csv_dir), "campaigns", "campaign_id")
    cols = ["campaign_id", "campaign_type", "start_week", "end_week"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert set(a["campaign_type"]) == {"A", "B", "C"}


@pytest.mark.parametrize("campaign_type", ["A", "TypeB"])
def test_both_sources_give_identical_cohorts(slice_dirs: tuple[Path, Path],
                                             campaign_type: str) -> None:
    parquet_dir, csv_dir = slice_dirs
    a = build_cohort(CompleteJourneySource(parquet_dir), campaign_type=campaign_type)
    b = build_cohort(csv_dir, campaign_type=campaign_type)
    assert a.cohort.n_treated > 10 and a.cohort.n_control > 10
    pd.testing.assert_frame_equal(a.cohort.frame, b.cohort.frame, check_exact=True)
    pd.testing.assert_frame_equal(a.attrition, b.attrition)
    assert a.cohort.roles == b.cohort.roles


def test_same_inputs_give_byte_identical_files_and_the_salt_moves_only_controls(
        slice_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    first_build = build_cohort(str(slice_dirs[1]))  # a folder given as text works too
    first = first_build.save(tmp_path / "one.parquet")
    second = build_cohort(slice_dirs[1]).save(tmp_path / "two.parquet")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()

    a = first_build.cohort.frame.set_index("customer_id")
    b = build_cohort(slice_dirs[1], salt="another").cohort.frame.set_index("customer_id")
    treated = a.index[a["treatment"] == 1].intersection(b.index)
    pd.testing.assert_series_equal(a.loc[treated, "index_week"], b.loc[treated, "index_week"])
    controls = a.index[a["treatment"] == 0].intersection(b.index)
    assert (a.loc[controls, "index_week"] != b.loc[controls, "index_week"]).any()


def test_resolve_source_rejects_unknown_names() -> None:
    with pytest.raises(InputError, match="unknown source"):
        resolve_source("nielsen")


def test_parquet_layout_errors_name_file_and_column(slice_dirs: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "cj"
    shutil.copytree(slice_dirs[0], folder)
    (folder / "coupons.parquet").unlink()
    with pytest.raises(InputError, match="file not found") as info:
        build_cohort(CompleteJourneySource(folder))
    assert str(info.value.file).endswith("coupons.parquet")

    shutil.copy(slice_dirs[0] / "coupons.parquet", folder / "coupons.parquet")
    tx = pd.read_parquet(folder / "transactions.parquet")
    tx.drop(columns="week").to_parquet(folder / "transactions.parquet")
    with pytest.raises(InputError, match="missing column") as info:
        build_cohort(CompleteJourneySource(folder))
    assert info.value.column == "week"

    tx.assign(sales_value=tx["sales_value"].astype(str)).to_parquet(
        folder / "transactions.parquet")
    with pytest.raises(InputError, match="must be number") as info:
        build_cohort(CompleteJourneySource(folder))
    assert info.value.column == "sales_value"
