"""Reading a returned A/B test: sample-ratio checks, effects, interim decisions, calibration of
the observational model, and re-estimation of whom to target next."""
