"""The classifier: features, the trained linear model, its files, decision policy, evidence."""
