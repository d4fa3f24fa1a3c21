"""Data containers, readers and the embedded simulated example.

Heavy optional dependencies (pyarrow, duckdb, xarray, ...) are imported inside
the functions that need them, so importing this package needs only numpy and pandas.
"""

from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.readers import read_table
from jsdm_hot.data.simulate import SimulatedCommunity, SimulationTruth, load_example, simulate_community, write_example
from jsdm_hot.data.tables import read_wide_csv, write_wide_csv

__all__ = [
    "ColumnSpec",
    "CommunityData",
    "SimulatedCommunity",
    "SimulationTruth",
    "load_example",
    "read_table",
    "read_wide_csv",
    "simulate_community",
    "write_example",
    "write_wide_csv",
]
