"""Batch scoring of DataFrames and files (CSV, TSV, JSON Lines, Parquet), locally or on Dask.

``from custtype.batch import score_file, score_frame``
"""

from custtype.batch.run import RunOptions, ScoreSummary, score_file
from custtype.batch.score import OUTPUT_COLUMNS, ScoreOptions, score_frame

__all__ = [
    "OUTPUT_COLUMNS",
    "RunOptions",
    "ScoreOptions",
    "ScoreSummary",
    "score_file",
    "score_frame",
]
