import math

import numpy as np
import polars as pl
import pytest

from ml_platform.features import FEATURES, FeatureContract, request_for


def test_frame_and_single_row_encodings_agree(feature_frame):
    """Training encodes frames, serving encodes rows: the numbers must be identical."""
    contract = FeatureContract().fit(feature_frame)
    matrix = contract.to_matrix(feature_frame.head(50))
    rows = np.array([contract.encode_row(r) for r in feature_frame.head(50).iter_rows(named=True)],
                    dtype=np.float32)
    np.testing.assert_array_equal(matrix, rows)


def test_unknown_category_and_missing_value_become_nan(feature_frame):
    contract = FeatureContract().fit(feature_frame)
    row = request_for(feature_frame.row(0, named=True)) | {"carrier": "ZZ", "temp": None}
    encoded = dict(zip(contract.names, contract.encode_row(row)))
    assert math.isnan(encoded["carrier"]) and math.isnan(encoded["temp"])
    frame = pl.DataFrame([row], schema=feature_frame.select(contract.names).schema)
    assert np.isnan(contract.to_matrix(frame)[0, contract.names.index("carrier")])


def test_vocabulary_is_sorted_and_round_trips(feature_frame):
    contract = FeatureContract().fit(feature_frame)
    assert contract.vocabulary["carrier"] == ["AA", "B6", "DL", "UA"]
    again = FeatureContract.from_dict(contract.to_dict())
    assert again.names == contract.names and again.vocabulary == contract.vocabulary


def test_fit_names_missing_columns(feature_frame):
    with pytest.raises(KeyError, match="temp"):
        FeatureContract().fit(feature_frame.drop("temp"))


def test_request_holds_exactly_the_contract_fields(feature_frame):
    assert list(request_for(feature_frame.row(0, named=True))) == [f.name for f in FEATURES]
