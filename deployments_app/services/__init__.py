"""Business rules and the one door to Twilio Serverless.

- deployments.py: promote, redeploy, restore and clear, each one pass (docs/architecture.md).
- reconcile.py: the only writer of our records besides the actions; records.py reads them.
- history.py: live since / the build before. locks.py: one action per environment.
- serverless.py: the client (the only module that imports requests), with
  serverless_types.py (results), serverless_errors.py (failures), serverless_config.py
  (ClientConfig) and serverless_paging.py (cursors).
"""

from __future__ import annotations
