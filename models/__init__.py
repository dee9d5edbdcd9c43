"""Shipped models: each sub-directory is one model (model.joblib + model_card.json).

Installed as the package `custtype.models`, so `pip install .` carries the default model.
"""
