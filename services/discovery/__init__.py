"""Discovery: find audiences the marketer did not think to write down.

::

    clustering.py   scaling, k-means / Gaussian mixture / HDBSCAN, a suggested k
    profiles.py     what each cluster is: sizes, z-scores, a name, a readable rule
    maps.py         a 2-D UMAP embedding of a run's customers (and its warm-up)
    lookalike.py    a positive-unlabelled model that grows a seed segment
    fitting.py      fetch features, fit one of the above, save it (with progress)
    store.py        the one store of saved runs, map selections, maps and lookalike models

Everything saved here is an ordinary membership target for a segment: "in
cluster k of run R", "lookalike of S at reach r".
"""
