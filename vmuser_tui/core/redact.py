"""Keep secrets out of what vmuser stores and shows: environment values, log details, commands.

The one place with the rules; every value becomes :data:`MASK` (``***``). Redaction
happens where data is written (operation log, checkpoint state) and again where it is
read, so rows written by older versions are masked too.

Names (:func:`is_secret_name`, case-insensitive, camelCase split at its humps): a name
looks secret when it contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL,
API_KEY/APIKEY, ACCESS_KEY, PRIVATE_KEY, AUTHORIZATION, COOKIE, DATABASE_URL or a
session cookie's name (JSESSIONID, PHPSESSID), or one of its ``_``/``-``/``.`` parts is
PASS, PWD (not the shell's own ``PWD``), AUTH, DSN, SALT or, as its last part, KEY. So
``GITHUB_TOKEN``, ``MYSQL_PWD``, ``apiKey`` and ``SENTRY_DSN`` are masked while ``PATH``,
``PWD``, ``KEYBOARD``, ``GIT_AUTHOR_NAME`` or vmuser's own ``session_id`` are kept.

Command arguments (:func:`redact_argv`, the forms secret scanners such as gitleaks and
trufflehog look for):

- ``NAME=value`` and ``--name=value`` with a secret-looking name -> ``NAME=***``;
- ``--name value`` with a secret-looking flag (``--password``, ``--token``,
  ``--api-key``) -> the next argument is masked unless it starts with ``-``;
- credentials in URLs: ``scheme://user:pass@host`` -> ``scheme://user:***@host``;
- headers ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``,
  ``X-Api-Key``, ``Private-Token`` and ``X-…-Token/-Key/-Secret/-Auth`` -> ``Name: ***``,
  in one argument (``-H "Authorization: Bearer x"``) or split over two or three
  (``Authorization:`` ``Bearer`` ``x``: the scheme word is kept);
- program-specific short forms, only after that program's name appeared earlier in the
  command, because elsewhere they mean other things (``-p`` is a port for ssh and psql,
  "parents" for mkdir): ``-pSECRET`` after mysql, mysqldump, mysqladmin, mariadb… (a bare
  ``-p`` there prompts, and the next argument is the database, so it is kept);
  ``-p SECRET`` / ``-pSECRET`` after sshpass; ``-u user:pass`` / ``--user user:pass``
  after curl -> ``user:***``; ``pass:SECRET`` (openssl) anywhere; the argument after
  ``docker login -p``, ``podman login -p``, ``redis-cli -a``, ``openssl -k`` (:data:`VALUE_FLAGS`);
- secrets in URL query strings (``?access_token=``, ``&api_key=``, ``&sig=`` …) -> ``name=***``;
- known token shapes anywhere in an argument, replaced whole: AWS access key ids
  (AKIA/ASIA…), GitHub (ghp_/gho_/ghu_/ghs_/ghr_/github_pat_), GitLab (glpat-), Slack
  (xox[abprse]-), JWTs (eyJ….eyJ….sig), private key blocks, Google API keys (AIza…),
  Stripe (sk_live_/rk_test_…, whsec_), OpenAI-style ``sk-…``, npm (npm_), Hugging Face
  (hf_);
- the script after ``sh -c`` (bash, zsh, dash, ash, ksh too) is split into words and
  each word goes through the same rules, in place.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
# a secret-looking name holds one of these anywhere, or one of _SECRET_PARTS as a whole part
_SECRET_IN_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|API_?KEY|ACCESS_?KEY"
                             r"|PRIVATE_?KEY|AUTHORIZATION|COOKIE|DATABASE_?URL|SESSIONID|SESSID")
_SECRET_PARTS = {"PASS", "PWD", "AUTH", "DSN", "SALT"}
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")  # apiKey -> api_Key
_NAME_PARTS = re.compile(r"[^A-Z0-9]+")
# `NAME=value` or `--name=value` as a whole string (an argv item such as `GITHUB_TOKEN=abc`).
_ASSIGNMENT = re.compile(r"^(-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)
_SECRET_HEADER = (r"(?:proxy-)?authorization|(?:set-)?cookie|x-api-?key|api-?key|private-token"
                  r"|x-[a-z0-9-]*(?:token|key|secret|auth)[a-z0-9-]*")
# `Authorization: Bearer abc` anywhere in a string (`--header=...` too); the value runs to a quote or line end
_HEADER = re.compile(rf"(?<![A-Za-z0-9-])({_SECRET_HEADER})[ \t]*:[ \t]*(?=[^\s\"'])[^\"'\r\n]*", re.IGNORECASE)
_HEADER_NAME_ONLY = re.compile(rf"^(?:{_SECRET_HEADER})[ \t]*:$", re.IGNORECASE)
_AUTH_SCHEMES = {"basic", "bearer", "token", "digest", "negotiate", "ntlm", "aws4-hmac-sha256", "apikey"}
# scheme://user:password@host (the user name is kept: it says which account was used)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]*):([^/\s@'\"]+)@")
_OPENSSL_PASS = re.compile(r"(?<![A-Za-z0-9])pass:(?=\S)[^\s'\"]*")
# secrets in a URL's query string: `?access_token=…`, `&api_key=…` (the name is kept)
_URL_QUERY = re.compile(r"(?i)([?&](?:access_?token|api_?key|apikey|token|key|secret|client_secret|password|passwd"
                        r"|auth|sig|signature|x-amz-signature|x-amz-security-token)=)[^&#\s'\"]+")
#: Token shapes replaced whole wherever they appear (prefixes as the issuers document them).
TOKEN_SHAPES = re.compile("|".join([
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b",  # AWS access key ids
    r"\bgh[pousr]_[A-Za-z0-9]{20,}", r"\bgithub_pat_[A-Za-z0-9_]{20,}",  # GitHub
    r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"\bxox[abprse]-[A-Za-z0-9-]{10,}",  # Slack
    r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",  # JWT (header.payload.signature)
    r"-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z ]*PRIVATE KEY( BLOCK)?-----|\Z)",
    r"\bAIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,}", r"\bwhsec_[0-9A-Za-z]{20,}",  # Stripe
    r"\bsk-(?:[A-Za-z0-9_-]*-)?[A-Za-z0-9_-]{20,}",  # OpenAI / Anthropic style
    r"\bnpm_[A-Za-z0-9]{36}", r"\bhf_[A-Za-z0-9]{30,}",  # npm, Hugging Face
    r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}",  # HashiCorp Vault tokens
]), re.DOTALL)
#: Programs whose short flags carry a password (see the module docstring).
MYSQL_FAMILY = {"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlpump",
                "mysqlslap", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-import", "mariadb-check"}
SHELLS = {"sh", "bash", "zsh", "dash", "ash", "ksh", "busybox"}
_CURL_USER_FLAGS = {"-u", "--user", "-U", "--proxy-user"}
#: Short flags whose next argument is a password, for the programs (all named on the
#: command line) where they mean that: `docker run -p` publishes a port, `docker login -p` is a password.
VALUE_FLAGS: dict[tuple[str, ...], set[str]] = {
    ("docker", "login"): {"-p"}, ("podman", "login"): {"-p"}, ("helm", "registry"): {"-p"},
    ("redis-cli",): {"-a"}, ("openssl",): {"-k"},
}
# one shell word: quoted parts, escapes and plain characters run together (`a"b c"'d'`)
_SHELL_WORD = re.compile(r"""(?:"(?:[^"\\]|\\.)*"?|'[^']*'?|\\.|[^\s;&|()<>"'\\])+""", re.DOTALL)

def is_secret_name(name: str) -> bool:
    """True when an environment variable, key or flag name looks like it holds a secret
    (rules in the module docstring): ``"DB_PASSWORD"``, ``"apiKey"``, ``"--auth-token"``."""
    upper = _CAMEL_HUMP.sub("_", name.strip("-")).upper()
    if _SECRET_IN_NAME.search(upper.replace("-", "_")):
        return True
    parts = [p for p in _NAME_PARTS.split(upper) if p]
    if not parts or upper == "PWD":  # the shell's working directory, not a password
        return False
    return bool(_SECRET_PARTS.intersection(parts)) or (len(parts) > 1 and parts[-1] == "KEY")


def redact_env(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an environment mapping ``{name: value}`` with secret-looking values masked.

    ``{"HOME": "/tmp", "API_TOKEN": "abc"}`` -> ``{"HOME": "/tmp", "API_TOKEN": "***"}``.
    """
    return {k: (MASK if is_secret_name(str(k)) else v) for k, v in mapping.items()}


#: Keys (any case) of JSON details whose list value is a command line (redacted with its context).
COMMAND_KEYS = {"command", "argv", "cmd", "entrypoint"}


def redact(value: Any) -> Any:
    """Mask secrets anywhere in a JSON-like value (dicts, lists, strings), recursively.

    Dict values under secret-looking keys become :data:`MASK`; a list of strings under
    ``command``/``argv``/``cmd``/``entrypoint`` (any case: Docker's ``Cmd``) goes through
    :func:`redact_argv`; any other string through :func:`redact_text`. Other values are
    returned as they are.
    """
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if isinstance(k, str) and is_secret_name(k):
                out[k] = MASK
            elif str(k).lower() in COMMAND_KEYS and isinstance(v, (list, tuple)) and all(isinstance(a, str) for a in v):
                out[k] = redact_argv(v)
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """One string with no command around it (a log detail, an argument, a message):
    ``NAME=value`` / ``--name=value`` with a secret-looking name as a whole, secret
    headers, URL credentials, ``pass:`` and token shapes anywhere. ``"x"`` -> ``"x"``."""
    m = _ASSIGNMENT.match(text) if "=" in text else None
    if m and is_secret_name(m.group(1)):
        return f"{m.group(1)}={MASK}"
    if ":" in text:
        text = _HEADER.sub(lambda h: f"{h.group(1)}: {MASK}", text)
        text = _URL_CREDENTIALS.sub(lambda u: f"{u.group(1)}:{MASK}@", text)
        text = _OPENSSL_PASS.sub(f"pass:{MASK}", text)
    if "=" in text and ("?" in text or "&" in text):
        text = _URL_QUERY.sub(lambda q: f"{q.group(1)}{MASK}", text)
    return TOKEN_SHAPES.sub(MASK, text)


def _program(arg: str) -> str:
    return os.path.basename(arg).lower()


def _user_pass(arg: str) -> str:
    """``user:pass`` -> ``user:***`` (curl's -u); a bare ``user`` is kept."""
    user, sep, _ = arg.partition(":")
    return f"{user}:{MASK}" if sep else arg


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line with its secrets masked, argument by argument (rules in the module
    docstring); the same number of arguments in the same order, so it still reads as the
    command that ran. ``["mysql", "-uroot", "-phunter2"]`` -> ``["mysql", "-uroot", "-p***"]``.
    """
    out: list[str] = []
    programs: set[str] = set()
    pending = ""  # what the previous argument says this one is: "value", "userpass", "header"
    for arg in map(str, argv):
        if pending == "header" and arg.lower() in _AUTH_SCHEMES:
            out.append(arg)  # `Authorization:` `Bearer` `abc`: the scheme says which kind, the next word is the secret
            continue
        if pending == "value" and arg.startswith("-") and arg != "-":
            pending = ""  # `mysql --password -h db`: the flag prompts; this is the next flag
        if pending in ("value", "header"):
            shown = redact_text(arg)  # `-pass pass:x` keeps its `pass:`
            out.append(shown if shown != arg else MASK)
            pending = ""
            continue
        if pending == "userpass":
            out.append(_user_pass(arg))
            pending = ""
            continue
        if pending == "script":
            out.append(redact_script(arg))
            pending = ""
            continue
        shown = redact_text(arg)
        if programs & MYSQL_FAMILY and arg.startswith("-p") and len(arg) > 2 and not arg.startswith("-p="):
            shown = f"-p{MASK}"
        elif "sshpass" in programs and arg.startswith("-p") and len(arg) > 2:
            shown = f"-p{MASK}"
        elif "curl" in programs and arg.startswith("-u") and len(arg) > 2:
            shown = "-u" + _user_pass(arg[2:])
        elif "curl" in programs and arg.startswith(("--user=", "--proxy-user=")):
            flag, _, rest = arg.partition("=")
            shown = f"{flag}={_user_pass(rest)}"
        out.append(shown)
        # an argument that held its own secret (`-psecret`) says nothing about the next one
        pending = _announces(arg, programs) if shown == arg else ""
        if not arg.startswith("-") and "=" not in arg:
            programs.add(_program(arg))
    return out


def _announces(arg: str, programs: set[str]) -> str:
    """What ``arg`` says about the next argument (see :func:`redact_argv`)."""
    if _HEADER_NAME_ONLY.match(arg):
        return "header"
    if "curl" in programs and arg in _CURL_USER_FLAGS:
        return "userpass"
    if "sshpass" in programs and arg == "-p":
        return "value"
    if any(arg in flags and programs.issuperset(names) for names, flags in VALUE_FLAGS.items()):
        return "value"
    if programs & SHELLS and re.fullmatch(r"-[a-z]*c", arg):
        return "script"
    m = re.fullmatch(r"--?([A-Za-z][A-Za-z0-9_-]*)", arg)
    if m and len(m.group(1)) > 1 and not m.group(1).lower().startswith("no-") and is_secret_name(m.group(1)):
        return "value"
    return ""


def redact_script(script: str) -> str:
    """A shell script (``sh -c SCRIPT``) with each word redacted as an argument of one
    command line; words whose shown form changed are re-quoted, the rest of the text
    (operators, spacing, comments) is kept. ``"mysql -psecret db"`` -> ``"mysql -p*** db"``."""
    spans = [(m.start(), m.end()) for m in _SHELL_WORD.finditer(script)]
    words = []
    for start, end in spans:
        raw = script[start:end]
        try:
            parts = shlex.split(raw)
            words.append(parts[0] if len(parts) == 1 else raw)
        except ValueError:  # an unclosed quote: judge the text as it is
            words.append(raw.strip("\"'"))
    shown = redact_argv(words)
    pieces, last = [], 0
    for (start, end), word, new in zip(spans, words, shown, strict=True):
        if new == word:
            continue
        raw = script[start:end]
        quote = raw[0] if raw[0] in "\"'" and raw[-1] == raw[0] and len(raw) > 1 else ""
        pieces.append(script[last:start])
        if quote:
            pieces.append(f"{quote}{new}{quote}")
        else:
            pieces.append(shlex.quote(new) if re.search(r"[\s\"'\\]", new) else new)
        last = end
    pieces.append(script[last:])
    # a secret spanning several words (a private key in a here-doc) is caught on the whole text
    return TOKEN_SHAPES.sub(MASK, "".join(pieces))
