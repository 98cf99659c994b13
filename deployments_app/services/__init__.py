"""The one door to Twilio Serverless.

serverless.py (the client, the only module that imports requests), serverless_ops.py
(promote, rollback, clear), serverless_types.py (results), serverless_errors.py
(failures), serverless_config.py (ClientConfig, SID shapes), serverless_paging.py
(cursors and paging helpers).
"""

from __future__ import annotations
