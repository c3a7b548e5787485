"""The fitted CATE model as a separate file, loaded only when its checksum matches.

Scoring new customers needs the fitted model, which only a pickle can hold, and loading a pickle
runs code. So the model never lives inside the plain results: it is written beside them as
``model.joblib``, the summary records its SHA-256, and :func:`load_cate_model` refuses any file
whose checksum differs from the one the analysis recorded (a file the tool did not write, or one
changed since). Structure that can be written as plain numbers (LinearDML's coefficients) is also
in the summary, so the model can be applied without loading anything.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from rollout.errors import InputError
from rollout.estimation.results_folder import ResultsFolder

MODEL_FILE = "model.joblib"


def model_bytes(model: Any) -> bytes:
    """The model serialized with joblib (uncompressed, so the same model gives the same bytes)."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=0)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    """Hex SHA-256 of some bytes.

    >>> sha256(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def load_model_file(path: Path, expected_sha256: str | None) -> Any:
    """Unpickle a model file only if its SHA-256 matches the recorded one.

    A file written by an older version of the package (its pickle names a module or class that
    has since moved) is refused with an :class:`InputError` saying to re-run the analysis.
    """
    return unpickle_model(checked_bytes(path, expected_sha256), path)


def checked_bytes(path: Path, expected_sha256: str | None) -> bytes:
    """The bytes of a model file, or an :class:`InputError` when their SHA-256 is not the one
    recorded (nothing is unpickled here)."""
    if not path.is_file():
        raise InputError("model file is missing", file=path)
    data = path.read_bytes()
    if sha256(data) != expected_sha256:
        raise InputError(
            "SHA-256 of the model file does not match the one recorded in the results; "
            "refusing to load it (unpickling runs code). Re-run rollout analyze to rebuild it",
            file=path)
    return data


def unpickle_model(data: bytes, path: Path | str | None = None) -> Any:
    """The model held by bytes already checked (:func:`checked_bytes`); ``path`` names them in
    errors."""
    try:
        return joblib.load(io.BytesIO(data))
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"the model file was written by another version of rollout and cannot be loaded "
            f"({type(exc).__name__}: {exc}); re-run rollout analyze to rebuild it",
            file=path) from None
    except Exception as exc:  # a damaged file fails in any way the unpickler can
        raise InputError(f"the model file cannot be read ({type(exc).__name__}: {exc}); "
                         "re-run rollout analyze to rebuild it", file=path) from None


def checked_model_bytes(results: str | Path) -> tuple[bytes, dict[str, Any]]:
    """The model file of a results folder as checked bytes, and its record.

    For a model that is sent elsewhere before it is loaded (to a cluster's workers): the bytes
    sent are the ones whose SHA-256 matched.
    """
    folder = ResultsFolder.open(results)
    record = folder.cate_model()
    if record is None:
        raise InputError("the results record no fitted CATE model (cate_model)",
                         file=folder.summary_path)
    path = folder.path / record["file"]
    if path.resolve().parent != folder.path.resolve():
        raise InputError("the recorded model file lies outside the results folder", file=path)
    return checked_bytes(path, record.get("sha256")), record


def load_cate_model(results: str | Path) -> tuple[Any, dict[str, Any]]:
    """The fitted CATE model of a results folder and its record (model, outcome, covariates).

    Reads the file name and SHA-256 recorded by the analysis, hashes the model file, and only if
    they match unpickles it. Raises :class:`InputError` otherwise.
    """
    data, record = checked_model_bytes(results)
    return unpickle_model(data, Path(results) / record["file"]), record


def score_customers(results: str | Path, frame: pd.DataFrame) -> np.ndarray:
    """Predicted CATE for new customers (a frame with the analysis's covariate columns)."""
    model, record = load_cate_model(results)
    covariates = list(record["covariates"])
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise InputError("covariate missing from the customers to score", column=missing[0])
    X = frame[covariates].to_numpy(dtype=float)
    return np.asarray(model.effect(X), dtype=float)
