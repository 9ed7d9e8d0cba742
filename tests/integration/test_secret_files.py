"""Secret files and automatic checkpoints (issue 11, case 11): every common family of
credential file is left out of an automatic checkpoint at any depth, kept in a manual one,
and left alone by a restore of an automatic one; files that only look like secrets
(templates, public keys, code) are kept in both. Real SQLite, real files, the service layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmuser_tui.core.secret_files import DEFAULT_SECRET_PATTERNS

#: Paths an automatic checkpoint must leave out (the issue's eight first).
SECRETS = [
    ".env.local", "config/.env.production", ".aws/credentials", ".ssh/id_ecdsa", ".git-credentials", ".netrc",
    ".npmrc", ".pypirc",
    ".env", ".env.development.local", ".envrc",
    "server.pem", "tls.key", "cert.p12", "cert.pfx", "AuthKey_ABC123.p8", "putty.ppk", "release.keystore", "app.jks",
    "vault.kdbx",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ed25519_sk", "id_rsa.bak",
    ".ssh/config", ".ssh/known_hosts", ".ssh/id_ed25519.pub",  # the whole folder, public key too
    ".gnupg/private-keys-v1.d/AB12.key", ".gnupg/pubring.kbx",
    ".aws/config", ".docker/config.json", ".kube/config", ".config/gcloud/application_default_credentials.json",
    ".cargo/credentials.toml", ".cargo/credentials", ".gem/credentials",
    "_netrc", ".pgpass", ".my.cnf", ".htpasswd", ".vault-token",
    "credentials.json", "secrets.json", "secrets.yaml", "secrets.yml", "secrets.toml",
    "terraform.tfstate", "terraform.tfstate.backup", "prod.tfvars", "prod.tfvars.json",
]

#: Paths that look like secrets but are not: kept by automatic checkpoints too.
LOOK_ALIKES = [
    ".env.example", ".env.sample", ".env.template", ".env.dist", "env.py", "environment.ts", ".environment",
    "id_ed25519.pub", "id_rsa.pub", "id_rsa-cert.pub",
    "keys.py", "keyboard.ts", "monkey.txt", "pem.go", "secrets.py", "credentials.py", "secret_santa.md",
    "aws/credentials.md", ".aws/README.md", ".docker/daemon.json", ".kube/cache/discovery.json", "kube/config",
    ".sshrc", "ssh/config.md", "netrc.py", ".npmrc.example", "terraform.tf", "main.tfplan.md",
    "Dockerfile", "README.md",
]

DEPTHS = ["", "nested/deep/"]


def _write_all(ws: Path, paths: list[str]) -> None:
    for rel in paths:
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(f"content of {rel}\n")


@pytest.fixture
def world(vm):
    project = vm.projects.create("secrets")
    ws = Path(project.workspace)
    _write_all(ws, [d + p for d in DEPTHS for p in SECRETS + LOOK_ALIKES])
    return vm, project, ws


def test_the_table_is_not_shadowed():
    """Each listed secret is really a different file, each look-alike too."""
    assert len(set(SECRETS)) == len(SECRETS) and len(set(LOOK_ALIKES)) == len(LOOK_ALIKES)
    assert not set(SECRETS) & set(LOOK_ALIKES)


def test_auto_checkpoints_leave_every_secret_family_out_at_any_depth_manual_ones_keep_them(world):
    vm, project, _ = world
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    manual = vm.checkpoints.create(project.id, kind="manual").checkpoint
    captured_by_auto = [d + p for d in DEPTHS for p in SECRETS if vm.checkpoints.entry(auto.id, d + p) is not None]
    missing_from_manual = [d + p for d in DEPTHS for p in SECRETS if vm.checkpoints.entry(manual.id, d + p) is None]
    assert captured_by_auto == []
    assert missing_from_manual == []


def test_look_alikes_are_kept_by_both_kinds(world):
    vm, project, _ = world
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    manual = vm.checkpoints.create(project.id, kind="manual").checkpoint
    lost = [(cp.kind, d + p) for cp in (auto, manual) for d in DEPTHS for p in LOOK_ALIKES
            if vm.checkpoints.entry(cp.id, d + p) is None]
    assert lost == []


def test_restoring_an_auto_checkpoint_leaves_every_secret_alone(world):
    vm, project, ws = world
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    secrets = [d + p for d in DEPTHS for p in SECRETS]
    for rel in secrets:
        (ws / rel).write_text(f"rotated {rel}\n")
    (ws / "README.md").write_text("changed\n")
    (ws / "nested/deep/.env.example").write_text("changed\n")
    preview = vm.restores.preview(auto.id)  # no secret shown as deleted or changed
    assert {c.path for c in preview.changes} == {"README.md", "nested/deep/.env.example"}
    outcome = vm.restores.restore(auto.id)
    assert {c.path for c in outcome.changes} == {"README.md", "nested/deep/.env.example"}
    assert (ws / "README.md").read_text() == "content of README.md\n"
    assert (ws / "nested/deep/.env.example").read_text() == "content of nested/deep/.env.example\n"
    assert [rel for rel in secrets if (ws / rel).read_text() != f"rotated {rel}\n"] == []
    # undoing the restore (its pre-restore checkpoint is a full one) leaves them too
    vm.restores.undo(project.id)
    assert (ws / "README.md").read_text() == "changed\n"
    assert [rel for rel in secrets if (ws / rel).read_text() != f"rotated {rel}\n"] == []


def test_the_defaults_are_valid_gitignore_lines_and_listed_in_the_example_config():
    import pathspec

    pathspec.GitIgnoreSpec.from_lines(DEFAULT_SECRET_PATTERNS)  # raises on a malformed line
    example = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text()
    assert all(f'"{p}"' in example for p in DEFAULT_SECRET_PATTERNS)
