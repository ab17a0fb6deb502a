"""Contracts every function of the toolkit uses: failure records, retries, config, observability."""
