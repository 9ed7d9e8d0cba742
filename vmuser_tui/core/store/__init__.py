"""The checkpoint engine: git's object model with restic's habits.

- :mod:`.trees`: tree entries, canonical encoding, Merkle hashing.
- :mod:`.objects`: the blob and tree tables (sha256 addressed, zstd compressed, chunked).
- :mod:`.cdc`: content-defined chunks of big files (FastCDC) and a big file's identity hash.
- :mod:`.scan`: walk a workspace with a stat cache; hash only what changed.
- :mod:`.capture`: scan -> store new blobs -> trees + checkpoint row.
- :mod:`.diff`: compare two trees (skipping equal subtrees), line counts, unified text.
- :mod:`.restore`: materialize a tree onto the workspace, writing only what differs.
- :mod:`.gc`: remove blobs and trees that no checkpoint reaches (restic's prune).
"""
