"""The seal service's use cases: one function per command, event or query, working in a unit of
work its caller (a route, a Kafka handler) provides and commits.

- ``root``: the county root opened on first use, the key protector and signer provider, the CRL.
- ``seals``: issue a No. 2 seal, register an old seal, auto-issue for a registered unit, revoke, read.
- ``documents``: seal a document (SealDocument), verify a PDF, a sealed document's public record and file.
- ``log``: the usage log's chain check, its entries, the supervision queries.
"""

from . import documents, log, root, seals

__all__ = ["documents", "log", "root", "seals"]
