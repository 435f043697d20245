"""The clinic server (`rehab server run`): home hubs pair with it, upload finished sessions to it and
read their patient's plan from it, over HTTPS.

- `protocol` — the wire contract both sides import: paths, headers, the content digest
- `config` — settings, validated; `tls` — the certificate/key check at start-up
- `guard` — every request authenticated and rate-limited; every refusal logged with its reason
- `app` — the Starlette app: enrol, upload (all-or-nothing, once per uid), receipts, plan (ETag)
- `run` — uvicorn with TLS on a socket, and a ready file for supervisors and tests

It keeps no state of its own: everything is in the store (PostgreSQL + the session files, a
directory or S3-compatible object storage), so several replicas can run behind a load balancer.
See docs/deployment.md.
"""
