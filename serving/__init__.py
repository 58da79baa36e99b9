"""Model adapter, explanations, batch scoring, the HTTP API and the review page."""
