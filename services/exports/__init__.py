"""Export jobs: a saved segment's members to the tools that run campaigns.

::

    request (segment, version, destination, mode, attributes, options)
      -> preflight.py      counts, usable identifiers, PII policy, DQ gate, cost
      -> jobs.py           a tracked job row, run off the page's thread
           -> audience.py  members x current customer rows, as one sqlglot tree
           -> <destination>.py  projection (normalised, hashed) and delivery
           -> snapshots.py membership saved per job, for diff exports
           -> audit row
    schedules.py         a request run every hour, day or week as such a job (sync-due)
    phones.py            phones to E.164 with libphonenumber, once per raw value
    filestore.py         where files are kept: a local folder, or a Unity Catalog volume (Files API)

Each destination module (files, table, meta, google_ads, braze, salesforce,
webhook) implements the ``Destination`` interface in ``base.py`` and owns its
behaviour: the options it asks for, its identifier rules, what a diff
delivers, its delivery (and the query when it writes inside the warehouse).
``destinations.py`` lists them by name; the Exports page form and the CLI
flags are generated from that list. Adding a destination is its module, a
line in ``destinations.py`` and its tests: ``jobs.py`` knows no destination.
"""
