"""Issue 13: --env, --env-file, [session.env], --meta as a user types them; secrets masked
when shown; published ports written as docker ps does; a taken port named in one line."""

from __future__ import annotations

import pytest

from vmuser_tui.core import config as cfg
from vmuser_tui.core.errors import ConfigError, UsageError
from vmuser_tui.core.models import Project
from vmuser_tui.core.ports import in_use_message, parse_publish, port_text, ports_text
from vmuser_tui.core.session_env import config_env, masked, parse_env_args, parse_meta, read_env_file


def test_env_args_as_docker_run_reads_them():
    got = parse_env_args(["A=1", "B=", "C=x=y", "HOMEISH", "MISSING", "A=2", "D=with spaces "],
                         {"HOMEISH": "from-vmuser"})
    # the last A wins; NAME alone copies vmuser's own variable, or sets nothing when unset
    assert got == {"A": "2", "B": "", "C": "x=y", "HOMEISH": "from-vmuser", "D": "with spaces "}


@pytest.mark.parametrize(("item", "says"), [
    ("=x", "the variable name is empty"), ("", "the variable name is empty"),
    ("9X=1", "'9X' is not a variable name"), ("A B=1", "'A B' is not a variable name"),
    ("A\0=1", "is not a variable name"), ("A=\0", "NUL"),
])
def test_bad_env_args(item, says):
    with pytest.raises(UsageError, match=says):
        parse_env_args([item], {})


def test_a_bad_env_arg_does_not_echo_its_value():
    with pytest.raises(UsageError) as err:
        parse_env_args(["9TOKEN=hunter2"], {})
    assert "hunter2" not in str(err.value) and "--env 9TOKEN=..." in str(err.value)


def test_env_file_format(tmp_path):
    f = tmp_path / "dev.env"
    f.write_bytes("\ufeff# a comment\nA=1\n\n   B=two words  \n  # indented comment\nQ=\"quoted\"\n"
                  "C=x=y\r\nFROM_HOST\nUNSET\nEMPTY=\n".encode())
    assert read_env_file(str(f), {"FROM_HOST": "h"}) == {
        "A": "1", "B": "two words  ", "Q": '"quoted"',  # no quote processing, trailing spaces kept
        "C": "x=y", "FROM_HOST": "h", "EMPTY": ""}


@pytest.mark.parametrize(("content", "says"), [
    (b"A=1\nBAD NAME=2\n", "line 2: 'BAD NAME' holds whitespace"),
    (b"A=1\n\n=2\n", "line 3: the variable name is empty"),
    (b"1A=1\n", "line 1: '1A' is not a variable name"),
    (b"A=\xff\n", "line 1: not UTF-8"),
    (b"export A=1\n", "line 1: 'export A' holds whitespace"),
])
def test_bad_env_file_lines_name_the_line(tmp_path, content, says):
    f = tmp_path / "bad.env"
    f.write_bytes(content)
    with pytest.raises(UsageError, match=f"--env-file {f} {says}"):
        read_env_file(str(f), {})


def test_env_file_missing_or_a_folder(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_env_file(str(tmp_path / "nope.env"), {})
    with pytest.raises(UsageError, match="is a directory"):
        read_env_file(str(tmp_path), {})


def test_meta():
    assert parse_meta(["ticket=OPS-7", "branch=feature/x", "note=", "ticket=OPS-8"]) == {
        "ticket": "OPS-8", "branch": "feature/x", "note": ""}


@pytest.mark.parametrize(("item", "says"), [
    ("ticket", "write KEY=VALUE"), ("=x", "the key must be"), ("-x=1", "the key must be"),
    ("a=b\nc", "printable characters on one line"), ("a=" + "x" * 1001, "at most 1000"),
    ("api_token=x", "looks like a secret"), ("url=https://u:pw@host/", "looks like a secret"),
    ("k=ghp_abcdefghijklmnopqrstuvwxyz0123", "looks like a secret"),
])
def test_bad_meta(item, says):
    with pytest.raises(UsageError, match=says) as err:
        parse_meta([item])
    assert "ghp_" not in str(err.value) and "pw@" not in str(err.value)


def test_masked_by_name_or_by_value():
    assert masked({"API_TOKEN": "abc", "GREETING": "hi", "URL": "https://u:pw@db/x", "TOK": "ghp_" + "a" * 30,
                   "PWD": "/workspace"}) == {"API_TOKEN": "***", "GREETING": "hi", "URL": "***", "TOK": "***",
                                             "PWD": "/workspace"}


def _load(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return cfg.load(path, environ={})


def test_config_env_tables_and_their_precedence(tmp_path):
    c = _load(tmp_path, '[session.env]\nA = "all"\nB = "all"\nC = "all"\n'
                        '[projects.web.env]\nB = "by name"\nC = "by name"\n'
                        '[projects."web-1234".env]\nC = "by id"\n'
                        '[projects.other.env]\nA = "not this one"\n')
    web = Project(id="web-1234", name="web", workspace="/w", managed=True, image=None, description="",
                  tags=[], pinned=False, created_at="", updated_at="", last_active_at="", head_checkpoint_id=None)
    assert config_env(c, web) == {"A": "all", "B": "by name", "C": "by id"}
    # shown masked (config show), kept whole for the container
    c = _load(tmp_path, '[session.env]\nDB_PASSWORD = "hunter2"\nTZ = "UTC"\n')
    assert c.to_toml_dict()["session"] == {"env": {"DB_PASSWORD": "***", "TZ": "UTC"}}
    assert c.session_env["DB_PASSWORD"] == "hunter2"


@pytest.mark.parametrize(("text", "says"), [
    ('[session.env]\nPORT = 8000\n', r"\[session.env\] PORT: expected a string in quotes, got 8000"),
    ('[session.env]\n"9X" = "1"\n', r"\[session.env\]: '9X' is not a variable name"),
    ('[session]\nenvs = {}\n', r"unknown key \[session\] envs; known: env"),
    ('session = 5\n', r"'session' must be a table"),
    ('[session]\nenv = 5\n', r"\[session.env\] must be a table"),
    ('[projects]\nweb = 5\n', r"\[projects.web\] must be a table holding env"),
    ('[projects.web]\nimage = "x"\n', r"unknown key \[projects.web\] image; known: env"),
    ('[projects."my web".env]\nA = 1\n', r'\[projects."my web".env\] A: expected a string'),
])
def test_bad_config_env_tables(tmp_path, text, says):
    with pytest.raises(ConfigError, match=says):
        _load(tmp_path, text)


def test_saving_settings_keeps_the_env_tables(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[session.env]\nTOKEN = "s3cret"\n[projects.web.env]\nA = "1"\n')
    cfg.save(path, {("docker", "cpus"): 2.0})
    c = cfg.load(path, environ={})
    assert c.session_env == {"TOKEN": "s3cret"} and c.project_env == {"web": {"A": "1"}}


def test_port_text():
    p = parse_publish("8000")
    assert port_text({"container": 8000, "host": 49153, "host_ip": "127.0.0.1", "protocol": "tcp"}) \
        == "127.0.0.1:49153->8000/tcp"
    assert port_text(p) == "127.0.0.1:?->8000/tcp"
    assert port_text({"container": 53, "host": 5353, "host_ip": "0.0.0.0", "protocol": "udp"}, short=True) \
        == "0.0.0.0:5353->53/udp"
    assert port_text({"container": 80, "host": 8080, "host_ip": "::1", "protocol": "tcp"}) == "[::1]:8080->80/tcp"
    assert port_text({"container": 80, "host": 8080, "host_ip": "127.0.0.1", "protocol": "tcp"}, short=True) \
        == "8080->80"
    assert ports_text([]) == "-"


@pytest.mark.parametrize("engine", [
    ("driver failed programming external connectivity on endpoint x (abc): Error starting userland proxy: "
    "listen tcp4 127.0.0.1:8000: bind: address already in use"),
    ("driver failed programming external connectivity on endpoint x (abc): Bind for 127.0.0.1:8000 failed: "
    "port is already allocated"),
])
def test_a_taken_port_is_named(engine):
    line = in_use_message(engine, [parse_publish("8000:80")])
    assert line is not None and line.startswith("port 8000 on 127.0.0.1 is already in use")
    assert "--publish 8001:80" in line and "\n" not in line
    assert in_use_message("no such image", [parse_publish("8000:80")]) is None
