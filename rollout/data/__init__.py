"""Data: sources of transaction history, the study cohort and the contract every table follows."""
