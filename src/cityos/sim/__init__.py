"""The scenario simulator: a whole city brought to life through cityos's real ingestion paths."""
