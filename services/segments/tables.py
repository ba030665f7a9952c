"""The tables a segment reads, named once.

A definition ranges over the gold feature row of a customer; behavioural
conditions read the activity table; membership conditions read the saved
cluster assignments and lookalike scores (written by ``services.discovery``),
and the catalog reads which runs and models exist from their run and model
tables, and everything else it knows from the catalog table the build writes. Everything else that names one of these tables imports it from here.
"""

from __future__ import annotations

from services import naming

FEATURES_TABLE = naming.fq("gold", "gold_customer_features")
#: the transactions behavioural conditions read: the facts' columns they need, stored by
#: category and date so a window and a category filter skip most of it (see the pipeline model)
ACTIVITY_TABLE = naming.fq("gold", "gold_customer_activity")
CUSTOMER_TABLE = naming.fq("txn", "dim_customer")
FACT_TABLE = naming.fq("txn", "fact_transactions")
CLUSTER_RUNS_TABLE = naming.fq("gold", "gold_cluster_runs")
CLUSTER_TABLE = naming.fq("gold", "gold_cluster_assignments")
LOOKALIKE_MODELS_TABLE = naming.fq("gold", "gold_lookalike_models")
LOOKALIKE_TABLE = naming.fq("gold", "gold_lookalike_scores")
#: what the build found of every gold column and behavioural filter (catalog_writer.py writes it)
CATALOG_TABLE = naming.fq("gold", "gold_feature_catalog")
