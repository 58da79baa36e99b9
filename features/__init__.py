"""Canonical schema, importers, feature extraction and the feature spec (pure)."""
