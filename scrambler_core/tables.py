"""One column naming scheme and one table writer for every command's output (explain, attribute,
predict, batch, score_variants).

Columns of a result
-------------------
``LABEL`` names one result of one method: the method name (``ism``, ``integrated_gradients``) or, for
the scrambler, ``scrambler_<target bits>`` (``scrambler_0.5``). Its values are ``LABEL_FIELD`` or, for
two alleles, ``LABEL_ALLELE_FIELD`` (``scrambler_0.5_ref_importance``). Per-position values are one
list column in Parquet and ``NAME_1 .. NAME_L`` in CSV (1-based positions).

>>> method_label("scrambler", 0.25), method_label("ism")
('scrambler_0.25', 'ism')
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["OUTPUT_SUFFIXES", "check_output", "method_label", "result_column", "with_positions", "write_table"]

OUTPUT_SUFFIXES = (".csv", ".parquet")


def method_label(method: str, target_bits=None) -> str:
    """The label of one result: ``scrambler_<bits>`` for the scrambler (``%g`` of the bits), else the method
    (``scrambler_optimized_<bits>`` when an optimised explanation names its bits)."""
    if method == "scrambler":
        if target_bits is None:
            raise ValueError("a scrambler result needs its target bits")
        return f"scrambler_{float(target_bits):g}"
    if method == "scrambler_optimized" and target_bits is not None:
        return f"scrambler_optimized_{float(target_bits):g}"
    return method


def result_column(label: str, field: str, allele: str | None = None) -> str:
    """``LABEL_FIELD`` or ``LABEL_ALLELE_FIELD`` (``ism_importance``, ``scrambler_0.5_ref_importance``)."""
    return f"{label}_{allele}_{field}" if allele else f"{label}_{field}"


def check_output(output) -> None:
    """Refuse an output that is neither ``-`` (CSV on standard output) nor a .csv / .parquet path."""
    if str(output) != "-" and Path(output).suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"output must end in .csv or .parquet, or be - for CSV on standard output; got "
                         f"{Path(str(output)).name!r}")


def with_positions(frame, values, name: str, output):
    """Per-position values (N, L) as columns NAME_1..NAME_L (CSV, ``-``) or one list column NAME (Parquet).

    Parameters
    ----------
    frame : pandas.DataFrame, N rows
    values : np.ndarray (N, L)
    name : str — the column name, e.g. ``result_column("ism", "importance")``
    output : str or Path — where the table goes (its suffix decides)
    """
    import pandas as pd
    values = np.asarray(values, np.float32)
    if str(output) == "-" or Path(output).suffix == ".csv":
        columns = pd.DataFrame(values, columns=[f"{name}_{j + 1}" for j in range(values.shape[1])],
                               index=frame.index)
        return pd.concat([frame, columns], axis=1)
    frame[name] = list(values)
    return frame


def write_table(frame, output, provenance: dict | None = None) -> None:
    """Write ``frame`` to ``output`` atomically, with its provenance record.

    Parameters
    ----------
    frame : pandas.DataFrame
    output : str or Path — ``.csv`` (provenance beside it in ``NAME.csv.provenance.json``), ``.parquet``
        (provenance in the schema metadata, see :func:`scrambler_core.provenance.read_parquet_provenance`)
        or ``-`` (CSV on standard output, no provenance)
    provenance : dict, optional — from :func:`scrambler_core.provenance.provenance`
    """
    check_output(output)
    if str(output) == "-":
        frame.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
        return
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    if output.suffix == ".csv":
        frame.to_csv(tmp, index=False)
        if provenance is not None:
            sidecar = output.with_name(f"{output.name}.provenance.json")
            sidecar.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .provenance import parquet_metadata
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if provenance is not None:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **parquet_metadata(provenance)})
        pq.write_table(table, tmp)
    tmp.replace(output)
