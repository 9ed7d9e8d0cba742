"""Files that hold credentials: left out of automatic checkpoints by default.

:data:`DEFAULT_SECRET_PATTERNS` is the default of ``[snapshots] secret_patterns``, in
gitignore syntax (pathspec's ``GitIgnoreSpec``). An automatic checkpoint is taken without
anyone looking, so it must not copy a key or a token into the database (which a user may
copy, back up or share); a manual checkpoint is a deliberate act and keeps everything.
Restoring an automatic checkpoint leaves these files alone (:func:`vmuser_tui.core.store.restore.spare`).

Every pattern matches at any depth: a pattern without a ``/`` does so by gitignore's own
rule (``.env`` also matches ``config/.env``), one that names a file inside a folder starts
with ``**/`` (``**/.aws/credentials``), and a folder pattern ends with ``/`` (``.ssh/``:
the whole folder, its ``config`` and ``known_hosts`` too).

The families follow GitHub's gitignore templates and the secret scanners' default file
lists (gitleaks, trufflehog): environment files, private keys and key stores, the
credential files of common tools (cloud CLIs, package registries, git, Docker, Kubernetes,
databases) and Terraform state. Deliberately kept (negated, or not listed):

- ``.env.example``, ``.env.sample``, ``.env.template``, ``.env.dist``: committed templates
  with placeholder values, which a project wants in its history;
- ``*.pub`` next to a private key (``id_ed25519.pub``): a public key is not a secret; inside
  ``.ssh/`` it is left out with the rest of the folder;
- ``secrets.py`` and other code named like a secret: only data formats are listed
  (``secrets.yaml``, ``secrets.json``...), never a source file.

Order matters, as in a ``.gitignore``: a later ``!pattern`` keeps what an earlier one left
out, and the user's ``[snapshots] ignore`` and ``.vmuserignore`` come after these, so a
project opts a file back in with a ``!`` line there (``!.env``).
"""

from __future__ import annotations

#: The default ``[snapshots] secret_patterns``: gitignore lines, in order.
DEFAULT_SECRET_PATTERNS: list[str] = [
    # environment files (dotenv, direnv); their committed templates are kept
    ".env",
    ".env.*",
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    "!.env.dist",
    ".envrc",
    # private keys, certificates with keys, key stores
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.p8",
    "*.ppk",
    "*.keystore",
    "*.jks",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "!id_*.pub",
    # whole folders of credentials
    ".ssh/",
    ".gnupg/",
    # credential files of tools
    "**/.aws/credentials",
    "**/.aws/config",
    "**/.docker/config.json",
    "**/.kube/config",
    "**/.config/gcloud/",
    "**/.cargo/credentials",
    "**/.cargo/credentials.toml",
    "**/.gem/credentials",
    ".git-credentials",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".my.cnf",
    ".htpasswd",
    ".vault-token",
    "credentials.json",
    "secrets.json",
    "secrets.yaml",
    "secrets.yml",
    "secrets.toml",
    # Terraform state and variables hold provider credentials and outputs in plain text
    "*.tfstate",
    "*.tfstate.*",
    "*.tfvars",
    "*.tfvars.json",
]
