"""The bronze -> silver -> gold pipeline, run from the SQL files in ``sql/``, and the contracts beside them."""
