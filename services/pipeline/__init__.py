"""The bronze -> silver -> gold pipeline, run from the SQL files in ``sql/``."""
