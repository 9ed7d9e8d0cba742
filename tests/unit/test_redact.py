"""Secret-looking names are masked wherever vmuser stores or shows environment values, and
secrets in command lines (issue 11, case 10) wherever a command is stored or shown."""

from __future__ import annotations

import pytest

from vmuser_tui.core.redact import MASK, is_secret_name, redact, redact_argv, redact_env


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_TOKEN",
        "token",
        "AWS_SECRET_ACCESS_KEY",
        "client_secret",
        "DB_PASSWORD",
        "PasswordFile",
        "STRIPE_API_KEY",
        "ssh_key",
        "X_TOKEN_FILE",
        "MYSQL_PWD",
        "apiKey",
        "SENTRY_DSN",
        "DATABASE_URL",
        "JSESSIONID",
        "BASIC_AUTH",
        "aws_session_token",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "--auth-token",
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "KEY", "KEYBOARD", "MONKEY", "LANG", "TERM", "USER", "PWD", "GIT_AUTHOR_NAME",
                                  "COMPASS", "DEBUG", "verbose", "session_id", "session"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_redact_env_masks_values_and_keeps_the_rest():
    env = {"HOME": "/tmp", "API_TOKEN": "abc", "aws_secret_access_key": "s", "PATH": "/bin"}
    assert redact_env(env) == {"HOME": "/tmp", "API_TOKEN": MASK, "aws_secret_access_key": MASK, "PATH": "/bin"}
    assert env["API_TOKEN"] == "abc"  # a copy: the caller's mapping is untouched


def test_redact_walks_log_details():
    details = {
        "command": ["env", "GITHUB_TOKEN=ghp_123", "DEBUG=1", "make"],
        "env": {"DB_PASSWORD": "hunter2", "LANG": "C"},
        "nested": [{"deploy_key": "k"}, "x=1"],
        "files": 3,
    }
    assert redact(details) == {
        "command": ["env", f"GITHUB_TOKEN={MASK}", "DEBUG=1", "make"],
        "env": {"DB_PASSWORD": MASK, "LANG": "C"},
        "nested": [{"deploy_key": MASK}, "x=1"],
        "files": 3,
    }


# Fake secrets in the shapes their issuers document (AWS's own example key id).
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0In0" + ".c2lnbmF0dXJlLXNpZw"
M = MASK

ARGV_ROWS = [
    # found by the attack review: program-specific password flags, query strings, Vault
    (["docker", "login", "-p", "hunter2", "reg"], ["docker", "login", "-p", M, "reg"]),
    (["docker", "run", "-p", "8080:80", "img"], ["docker", "run", "-p", "8080:80", "img"]),
    (["redis-cli", "-a", "hunter3", "ping"], ["redis-cli", "-a", M, "ping"]),
    (["openssl", "enc", "-k", "hunter5", "-in", "f"], ["openssl", "enc", "-k", M, "-in", "f"]),
    (["curl", "http://h/?access_token=hunter4&x=1"], ["curl", f"http://h/?access_token={M}&x=1"]),
    (["curl", "https://h/p?page=2&api_key=abc"], ["curl", f"https://h/p?page=2&api_key={M}"]),
    (["curl", "https://h/p?page=2&sort=asc"], ["curl", "https://h/p?page=2&sort=asc"]),
    (["vault", "login", "hvs.CAESIJx4fQ2bQZkz1aBcDeFgHiJkLmNoPq"], ["vault", "login", M]),
    # KEY=VALUE with a secret-looking name (any case, prefixes and suffixes)
    (["env", f"AWS_ACCESS_KEY_ID={AWS_ID}", "make"], ["env", f"AWS_ACCESS_KEY_ID={M}", "make"]),
    (["env", "DATABASE_URL=postgres://u:pw@h/db"], ["env", f"DATABASE_URL={M}"]),
    (["env", "db_password=hunter2"], ["env", f"db_password={M}"]),
    (["env", "MYSQL_PWD=hunter2", "mysql"], ["env", f"MYSQL_PWD={M}", "mysql"]),
    (["env", "GITHUB_TOKEN=abc", "DEBUG=1"], ["env", f"GITHUB_TOKEN={M}", "DEBUG=1"]),
    (["env", "apiKey=abc"], ["env", f"apiKey={M}"]),
    (["env", "SESSION_COOKIE=abc"], ["env", f"SESSION_COOKIE={M}"]),
    (["env", "SENTRY_DSN=https://k@o.ingest/1"], ["env", f"SENTRY_DSN={M}"]),
    (["env", "CLIENT_SECRET=a b c"], ["env", f"CLIENT_SECRET={M}"]),
    (["env", "PATH=/bin", "PWD=/w", "KEYBOARD=us"], ["env", "PATH=/bin", "PWD=/w", "KEYBOARD=us"]),
    (["make", "GIT_AUTHOR_NAME=Ann"], ["make", "GIT_AUTHOR_NAME=Ann"]),
    # --flag=value and --flag value
    (["mysql", "--password=x", "-px"], ["mysql", f"--password={M}", f"-p{M}"]),
    (["tool", "--token", "abc", "--verbose"], ["tool", "--token", M, "--verbose"]),
    (["tool", "--api-key=abc"], ["tool", f"--api-key={M}"]),
    (["tool", "--client-secret", "s3"], ["tool", "--client-secret", M]),
    (["vault", "login", "-token", "s.abc"], ["vault", "login", "-token", M]),
    (["mysql", "--password", "-h", "db"], ["mysql", "--password", "-h", "db"]),  # prompts: -h is a flag
    (["tool", "--no-auth", "x"], ["tool", "--no-auth", "x"]),
    (["git", "log", "--author=me", "--since", "2d"], ["git", "log", "--author=me", "--since", "2d"]),
    # program-specific short forms
    (["mysql", "-uroot", "-phunter2", "db"], ["mysql", "-uroot", f"-p{M}", "db"]),
    (["mysql", "-p", "db"], ["mysql", "-p", "db"]),  # a bare -p prompts; db is the database
    (["docker", "exec", "db", "mysqldump", "-psecret", "app"], ["docker", "exec", "db", "mysqldump", f"-p{M}", "app"]),
    (["sshpass", "-p", "pw", "ssh", "h"], ["sshpass", "-p", M, "ssh", "h"]),
    (["ssh", "-p2222", "host"], ["ssh", "-p2222", "host"]),  # a port, not a password
    (["mkdir", "-p", "a/b"], ["mkdir", "-p", "a/b"]),
    (["psql", "-p", "5432", "-U", "me"], ["psql", "-p", "5432", "-U", "me"]),
    (["curl", "-u", "me:pw", "https://h"], ["curl", "-u", f"me:{M}", "https://h"]),
    (["curl", "-ume:pw", "https://h"], ["curl", f"-ume:{M}", "https://h"]),
    (["curl", "--user=me:pw", "https://h"], ["curl", f"--user=me:{M}", "https://h"]),
    (["openssl", "enc", "-pass", "pass:hunter2"], ["openssl", "enc", "-pass", f"pass:{M}"]),
    # headers, whole or split
    (["curl", "-H", "Authorization: Bearer abc.def"], ["curl", "-H", f"Authorization: {M}"]),
    (["curl", "-H", "authorization:Basic dTpw"], ["curl", "-H", f"authorization: {M}"]),
    (["curl", "--header=Proxy-Authorization: Basic x"], ["curl", f"--header=Proxy-Authorization: {M}"]),
    (["curl", "-H", "Cookie: sid=abc"], ["curl", "-H", f"Cookie: {M}"]),
    (["curl", "-H", "X-Api-Key: k123"], ["curl", "-H", f"X-Api-Key: {M}"]),
    (["curl", "-H", "X-Vault-Token: s.1"], ["curl", "-H", f"X-Vault-Token: {M}"]),
    (["curl", "-H", "Authorization:", "Bearer", "abc"], ["curl", "-H", "Authorization:", "Bearer", M]),
    (["curl", "-H", "Content-Type: application/json"], ["curl", "-H", "Content-Type: application/json"]),
    # credentials in URLs
    (["git", "clone", "https://me:pw@github.com/o/r"], ["git", "clone", f"https://me:{M}@github.com/o/r"]),
    (["psql", "postgres://u:pw@h:5432/db"], ["psql", f"postgres://u:{M}@h:5432/db"]),
    (["redis-cli", "-u", "redis://:pw@h:6379"], ["redis-cli", "-u", f"redis://:{M}@h:6379"]),
    (["curl", "https://example.com/a?b=c"], ["curl", "https://example.com/a?b=c"]),
    (["git", "clone", "git@github.com:o/r.git"], ["git", "clone", "git@github.com:o/r.git"]),
    # token shapes anywhere
    (["echo", AWS_ID], ["echo", M]),
    (["echo", "ASIA" + "Y34FZKBOKMUTVV7A"], ["echo", M]),
    (["git", "push", f"https://{GH}@github.com/o/r"], ["git", "push", f"https://{M}@github.com/o/r"]),
    (["echo", "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop"], ["echo", M]),
    (["echo", "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a"], ["echo", M]),
    (["echo", "xoxb-" + "1234-5678-abcdefghij"], ["echo", M]),
    (["echo", f"token is {JWT} ok"], ["echo", f"token is {M} ok"]),
    (["echo", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"], ["echo", M]),
    (["echo", "AIza" + "SyA-1234567890abcdefghijklmnopqrstu"], ["echo", M]),
    (["echo", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"], ["echo", M]),
    (["echo", "glpat-" + "xxxxxxxxxxxxxxxxxxxx"], ["echo", M]),
    # shell scripts: each word as an argument, the rest kept
    (["sh", "-c", "DB_PASSWORD=x make test"], ["sh", "-c", f"DB_PASSWORD={M} make test"]),
    (["sh", "-c", "curl -H 'Authorization: Bearer t' https://h && echo ok"],
     ["sh", "-c", f"curl -H 'Authorization: {M}' https://h && echo ok"]),
    (["bash", "-lc", "mysql -psecret db; ls"], ["bash", "-lc", f"mysql -p{M} db; ls"]),
    (["sh", "-c", "export GITHUB_TOKEN=abc; make"], ["sh", "-c", f"export GITHUB_TOKEN={M}; make"]),
    (["sh", "-c", "ls -la | grep x"], ["sh", "-c", "ls -la | grep x"]),
    # ordinary commands stay as they are
    (["ls", "-la", "/workspace"], ["ls", "-la", "/workspace"]),
    (["python", "-c", "print(1)"], ["python", "-c", "print(1)"]),
    (["grep", "-r", "password", "."], ["grep", "-r", "password", "."]),
]


@pytest.mark.parametrize(("argv", "shown"), ARGV_ROWS, ids=[" ".join(a)[:60] for a, _ in ARGV_ROWS])
def test_redact_argv(argv, shown):
    assert redact_argv(argv) == shown


def test_the_table_is_big_enough():
    assert len(ARGV_ROWS) >= 40


def test_redact_masks_a_stored_command_with_its_context():
    """Operation-log details: a ``command`` list is read as one command line."""
    details = {"command": ["curl", "-H", "Authorization:", "Bearer", "abc"], "note": f"key {AWS_ID}"}
    assert redact(details) == {"command": ["curl", "-H", "Authorization:", "Bearer", M], "note": f"key {M}"}
