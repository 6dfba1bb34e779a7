"""Provenance records: versions, weights fingerprints that change with the weights, Parquet metadata."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scrambler_core import provenance as prov
from toymodels import linear_predictor as toy_predictor


def test_versions_name_the_libraries_that_shape_results():
    versions = prov.package_versions()
    import numpy
    import scrambler_core
    assert versions["numpy"] == numpy.__version__
    assert versions["scrambler_core"] == scrambler_core.__version__
    assert set(versions) >= {"python", "tensorflow", "keras", "pandas", "pyarrow"}


def test_fingerprint_is_stable_and_changes_with_one_weight():
    predictor = toy_predictor()
    first = prov.weights_fingerprint(predictor)
    assert first == prov.weights_fingerprint(predictor.model) == prov.weights_fingerprint(predictor)
    assert len(first) == 64
    variable = predictor.model.weights[0]
    value = variable.numpy()
    value.flat[0] += 1.0
    variable.assign(value)
    assert prov.weights_fingerprint(predictor) != first


def test_fingerprint_of_something_without_weights_is_none():
    assert prov.weights_fingerprint(object()) is None


def test_record_is_json_and_names_models_and_settings():
    predictor = toy_predictor()
    record = prov.provenance(predictor, settings={"target_bits": 0.5, "path": prov}, command=["scrambler", "x"])
    again = json.loads(json.dumps(record))
    assert again["predictor"]["name"] == predictor.name
    assert again["predictor"]["weights_sha256"] == prov.weights_fingerprint(predictor)
    assert again["scrambler"] is None
    assert again["settings"]["target_bits"] == 0.5
    assert again["command"] == "scrambler x"
    assert again["created"].endswith("+00:00")


def test_parquet_metadata_round_trip(tmp_path):
    record = prov.provenance(settings={"method": "ism"})
    table = pa.table({"x": np.arange(3)})
    table = table.replace_schema_metadata(prov.parquet_metadata(record))
    pq.write_table(table, tmp_path / "t.parquet")
    assert prov.read_parquet_provenance(tmp_path / "t.parquet") == record
    pq.write_table(pa.table({"x": [1]}), tmp_path / "plain.parquet")
    assert prov.read_parquet_provenance(tmp_path / "plain.parquet") is None
