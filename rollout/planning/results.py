"""Reading what a design needs from a results folder written by ``rollout analyze``.

The layout relied on (and nothing more)::

    RESULTS/summary.json       "cohort": {"path", "outcomes"}, "ate": [{outcome, method,
                               estimate, se, ...}], "positivity": {...}, "breakeven": {"cost",
                               "margin", "breakeven_cate"}, optional "overlap_effect"
                               (read only through rollout.estimation.results_folder)
    RESULTS/customers.parquet  customer_id, treatment, ps, ps_region, cate, segment,
                               target_<policy> 0/1 columns

The outcome and the pre-period covariates are joined from the cohort named in the summary (a
path relative to the results folder, or absolute) when ``customers.parquet`` lacks them. The
outcome SD, its baseline mean and the variance-reduction R^2 are taken from the cohort. A
missing file or key raises :class:`InputError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.data.contract import Cohort, load_cohort
from rollout.errors import InputError
from rollout.estimation.results_folder import ResultsFolder

PS_REGIONS = ("overlap", "near_boundary", "extreme_low", "extreme_high")
REQUIRED_CUSTOMER_COLUMNS = ("customer_id", "treatment", "ps_region")
OVERLAP_WINDOW = "0.1-0.9"


@dataclass
class AnalysisResults:
    """The parts of an analysis a design reads, with the cohort columns joined in."""

    folder: ResultsFolder
    customers: pd.DataFrame
    outcome: str
    covariates: list[str]
    cohort_path: Path | None
    written_columns: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def summary(self) -> Mapping[str, Any]:
        """The analysis' summary document as read by its owner (prefer the accessors)."""
        return self.folder.document

    @property
    def summary_path(self) -> Path:
        return self.folder.summary_path

    @property
    def customers_path(self) -> Path:
        return self.folder.customers_path

    def has_breakeven(self) -> bool:
        return self.folder.has_breakeven()

    def policy_columns(self) -> list[str]:
        """The ``target_<policy>`` columns, in file order."""
        return [c for c in self.customers.columns if str(c).startswith("target_")]

    def require_column(self, column: str) -> None:
        if column not in self.customers.columns:
            raise InputError("column not found (available: "
                             f"{', '.join(map(str, self.customers.columns))})",
                             file=self.customers_path, column=column)

    def breakeven(self) -> dict[str, float]:
        """``{"cost", "margin", "breakeven_cate"}`` from the summary."""
        return self.folder.breakeven().to_dict()

    def require_cate(self, why: str) -> None:
        """The predicted CATE column is needed for ``why``; raise naming it when absent."""
        if "cate" not in self.customers.columns:
            raise InputError(f"column missing: {why} needs the predicted CATE (run the "
                             "analysis with a CATE learner)", file=self.customers_path,
                             column="cate")

    def _estimate_of(self, key: str, **match: str) -> float | None:
        return self.folder.estimate(key, self.outcome, **match)

    def observational_ate(self) -> tuple[float | None, str]:
        """The analysis' own choice of average effect for the outcome, and which it is.

        The ``recommended`` record when present (the analysis picks it by its positivity
        rule), else the AIPW record of ``ate``, else the first ``ate`` record.
        """
        record = self.folder.recommended(self.outcome)
        if record is not None:
            return float(record["estimate"]), (f"observational estimate recommended by the "
                                               f"analysis ({record.get('method')}, trim "
                                               f"{record.get('trim')})")
        value = self._estimate_of("ate", method="aipw")
        if value is not None:
            return value, "observational AIPW estimate (summary.json ate)"
        value = self._estimate_of("ate")
        if value is not None:
            return value, "first observational estimate in summary.json ate"
        return None, "none"

    def overlap_effect(self) -> tuple[float, str]:
        """The observational effect in the overlap region, and where it came from.

        In order: ``summary.json`` ``overlap_effect`` (a number, ``{outcome: number}``, a record
        with ``estimate``, or records with ``outcome``/``estimate``); the AIPW estimate trimmed
        to propensity [0.1, 0.9] (the ``trimming`` records: exactly the overlap region); the
        overlap-weighted ATO (``ate`` records, method ``ato``); the mean predicted CATE of
        customers with ``ps_region == "overlap"``.
        """
        value = _pick_estimate(self.summary.get("overlap_effect"), self.outcome)
        if value is not None:
            return value, "summary.json overlap_effect"
        value = self._estimate_of("trimming", trim=OVERLAP_WINDOW)
        if value is not None:
            return value, f"AIPW trimmed to propensity {OVERLAP_WINDOW} (summary.json trimming)"
        value = self._estimate_of("ate", method="ato")
        if value is not None:
            return value, "overlap-weighted ATO (summary.json ate)"
        in_overlap = self.customers["ps_region"] == "overlap"
        if "cate" not in self.customers.columns or not in_overlap.any():
            raise InputError("key 'overlap_effect' missing, with no trimmed or ATO estimate and "
                             "no CATE of overlap customers to take it from",
                             file=self.summary_path)
        return (float(self.customers.loc[in_overlap, "cate"].mean()),
                "mean CATE in the overlap region (customers.parquet)")


def _pick_estimate(raw: Any, outcome: str) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, dict):
        if "estimate" in raw:
            return _pick_estimate(raw["estimate"], outcome)
        if outcome in raw:
            return _pick_estimate(raw[outcome], outcome)
    if isinstance(raw, list):
        for record in raw:
            if isinstance(record, dict) and record.get("outcome") in (outcome, None):
                return _pick_estimate(record.get("estimate"), outcome)
    return None


def load_results(path: str | Path, outcome: str | None = None,
                 covariates: list[str] | None = None,
                 need_covariates: bool = True) -> AnalysisResults:
    """Read a results folder and join the cohort's outcome and covariates to its customers.

    The cohort is read only when ``customers.parquet`` lacks the outcome or (with
    ``need_covariates``) the covariates; ``covariates`` defaults to the cohort's own.
    """
    folder = ResultsFolder.open(path)
    path, summary_path, customers_path = folder.path, folder.summary_path, folder.customers_path
    customers = folder.customers()
    written_columns = tuple(map(str, customers.columns))
    for column in REQUIRED_CUSTOMER_COLUMNS:
        if column not in customers.columns:
            raise InputError("column missing", file=customers_path, column=column)
    bad_region = ~customers["ps_region"].isin(PS_REGIONS)
    if bad_region.any():
        row = int(np.flatnonzero(bad_region.to_numpy())[0])
        raise InputError(f"ps_region must be one of {', '.join(PS_REGIONS)}, got "
                         f"{customers['ps_region'].iloc[row]!r}", file=customers_path,
                         column="ps_region", row=row)

    if not folder.cohort:
        raise InputError("key 'cohort' missing (needs 'path' and 'outcomes')", file=summary_path)
    outcomes = folder.outcomes
    if not outcomes:
        raise InputError("key 'cohort.outcomes' missing or empty", file=summary_path)
    chosen = outcome or str(outcomes[0])
    if chosen not in outcomes:
        raise InputError(f"outcome {chosen!r} was not analysed (outcomes: {outcomes})",
                         file=summary_path, column=chosen)

    cohort: Cohort | None = None
    cohort_path = folder.cohort_path()
    outcome_missing = chosen not in customers.columns
    covariates_missing = need_covariates and (covariates is None or any(
        c not in customers.columns for c in covariates))
    if outcome_missing or covariates_missing:
        why = ("the outcome" if outcome_missing else
               "the pre-period covariates for variance reduction (or give the R^2, or "
               "design without variance reduction)")
        if cohort_path is None:
            raise InputError(f"key 'cohort.path' missing: {why} come(s) from the cohort",
                             file=summary_path)
        if not cohort_path.exists():
            raise InputError(f"the cohort named by summary.json 'cohort.path' does not exist; "
                             f"it is needed for {why}", file=cohort_path)
    if cohort_path is not None and cohort_path.exists():
        cohort = load_cohort(cohort_path, outcomes=[chosen])
        wanted = [chosen]
        if need_covariates:
            wanted += list(covariates if covariates else cohort.roles.covariates)
        segment = cohort.roles.segment
        if segment and "segment" not in customers.columns:
            wanted.append(segment)
        extra = [c for c in dict.fromkeys(wanted) if c not in customers.columns]
        for column in extra:
            if column not in cohort.frame.columns:
                raise InputError("column not found in the cohort", file=cohort_path,
                                 column=column)
        id_col = cohort.roles.id
        joined = cohort.frame[[id_col, *extra]].rename(columns={id_col: "customer_id"})
        if segment and segment in extra and segment != "segment":
            joined = joined.rename(columns={segment: "segment"})
        customers = customers.merge(joined, on="customer_id", how="left", validate="one_to_one")
        missing = customers[chosen].isna()
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise InputError(f"customer {customers['customer_id'].iloc[row]!r} is not in the "
                             "cohort", file=customers_path, column="customer_id", row=row)
    if not need_covariates:
        covariates = []
    if covariates is None:
        covariates = list(cohort.roles.covariates) if cohort is not None else []
    for column in covariates:
        if column not in customers.columns:
            raise InputError("covariate column not found", file=customers_path, column=column)
    return AnalysisResults(folder=folder, customers=customers.reset_index(drop=True),
                           outcome=chosen, covariates=list(covariates), cohort_path=cohort_path,
                           written_columns=written_columns)
