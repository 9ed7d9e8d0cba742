"""Settings: defaults, validation messages, TOML errors, env overrides, sizes, the template."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from vmuser_tui.core import config as cfg
from vmuser_tui.core.errors import ConfigError

MiB = 1024 * 1024


def load_text(tmp_path: Path, text: str | None, environ: dict | None = None, **kw) -> cfg.Config:
    path = tmp_path / "config.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return cfg.load(path, environ=environ or {}, **kw)


def test_defaults_when_file_missing(tmp_path):
    path = tmp_path / "nope" / "config.toml"
    c = cfg.load(path, environ={})
    assert c.path == path
    assert not path.exists()  # loading never creates the file
    assert c.get("docker", "image") == "debian:bookworm-slim"
    assert c.get("docker", "memory") == 1024 * MiB
    assert c.get("docker", "cpus") == 1.0
    assert c.get("docker", "pids_limit") == 512
    assert c.get("limits", "max_file_size") == 100 * MiB
    assert c.get("store", "compression_level") == 3
    assert c.get("snapshots", "ignore") == []
    assert c.get("cleanup", "enabled") is False  # until the cleanup worker exists
    assert c.get("ui", "read_only") is False
    assert c.data_dir == cfg.default_data_dir()
    assert set(c.sources.values()) == {"default"}
    assert c.keymap == {}
    # every setting in the schema has a value
    assert {(s, k) for s in cfg.SCHEMA for k in cfg.SCHEMA[s]} == set(c.sources)


def test_empty_file_means_defaults(tmp_path):
    c = load_text(tmp_path, "")
    assert c.values == cfg.load(tmp_path / "missing.toml", environ={}).values


def test_file_values_win_over_defaults(tmp_path):
    c = load_text(
        tmp_path,
        """
[docker]
image = "alpine:3.20"
cpus = 2
memory = "512m"
[limits]
max_file_size = 2048
[snapshots]
ignore = ["*.log", "node_modules/"]
[cleanup]
enabled = false
[keymap]
"projects.filter" = "slash"
""",
    )
    assert c.get("docker", "image") == "alpine:3.20"
    assert c.get("docker", "cpus") == 2.0 and isinstance(c.get("docker", "cpus"), float)
    assert c.get("docker", "memory") == 512 * MiB
    assert c.get("limits", "max_file_size") == 2048
    assert c.get("snapshots", "ignore") == ["*.log", "node_modules/"]
    assert c.get("cleanup", "enabled") is False
    assert c.keymap == {"projects.filter": "slash"}
    assert c.sources[("docker", "image")] == "file"
    assert c.sources[("docker", "timeout")] == "default"


@pytest.mark.parametrize(
    "section, key, value, expected",
    [
        ("docker", "pids_limit", '"many"', "a whole number"),
        ("docker", "pids_limit", "12.5", "a whole number"),
        ("docker", "pids_limit", "true", "a whole number"),
        ("docker", "cpus", '"two"', "a number"),
        ("docker", "cpus", "false", "a number"),
        ("docker", "image", "3", "a string in quotes"),
        ("docker", "image", '["a"]', "a string in quotes"),
        ("docker", "memory", '"lots"', "a size such as 1048576 or '512m'"),
        ("docker", "memory", "true", "a size such as 1048576 or '512m'"),
        ("docker", "memory", "-5", "a size such as 1048576 or '512m'"),
        ("docker", "memory", '"-5m"', "a size such as 1048576 or '512m'"),
        ("limits", "max_file_size", '"10 parsecs"', "a size such as 1048576 or '512m'"),
        ("cleanup", "enabled", '"yes"', "true or false"),
        ("cleanup", "enabled", "1", "true or false"),
        ("ui", "read_only", '"false"', "true or false"),
        ("snapshots", "ignore", '"*.log"', "a list of strings"),
        ("snapshots", "ignore", "[1, 2]", "a list of strings"),
        ("snapshots", "debounce", '"fast"', "a number"),
    ],
)
def test_bad_value_names_section_key_and_expected_type(tmp_path, section, key, value, expected):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, f"[{section}]\n{key} = {value}\n")
    message = str(err.value)
    assert f"[{section}] {key}" in message
    assert f"expected {expected}" in message
    assert str(tmp_path / "config.toml") in message
    assert "\n" not in message  # one line


@pytest.mark.parametrize(
    "section, key, value, word",
    [
        ("docker", "memory", '"1m"', "below the minimum"),  # minimum is 4 MiB
        ("docker", "cpus", "0", "below the minimum"),
        ("docker", "cpus", "2000", "above the maximum"),
        ("docker", "pids_limit", "8", "below the minimum"),
        ("docker", "timeout", "0", "below the minimum"),
        ("store", "compression_level", "20", "above the maximum"),
        ("store", "compression_level", "0", "below the minimum"),
        ("limits", "max_file_size", "0", "below the minimum"),
        ("snapshots", "interval", "1", "below the minimum"),
    ],
)
def test_out_of_range_values(tmp_path, section, key, value, word):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, f"[{section}]\n{key} = {value}\n")
    assert f"[{section}] {key}" in str(err.value)
    assert word in str(err.value)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    text = '[docker]\nimage = "ok"\ncpus = = 2\n'
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text)
    message = str(err.value)
    assert str(tmp_path / "config.toml") in message
    assert "invalid TOML" in message
    assert re.search(r"line 3\b", message), message


def test_unreadable_file_is_a_config_error(tmp_path):
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe[docker]\n")
    with pytest.raises(ConfigError) as err:
        cfg.load(tmp_path / "config.toml", environ={})
    assert str(tmp_path / "config.toml") in str(err.value)


def test_unknown_section_lists_known_ones(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, "[dockr]\nimage = 'x'\n")
    message = str(err.value)
    assert "unknown section [dockr]" in message
    for section in cfg.SCHEMA:
        assert section in message


def test_unknown_key_lists_known_ones(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, "[docker]\nimgae = 'x'\n")
    message = str(err.value)
    assert "unknown key [docker] imgae" in message
    assert "image" in message and "pids_limit" in message


def test_section_must_be_a_table(tmp_path):
    with pytest.raises(ConfigError, match="must be a table"):
        load_text(tmp_path, "docker = 3\n")


def test_keymap_values_must_be_strings(tmp_path):
    with pytest.raises(ConfigError, match=r"\[keymap\]"):
        load_text(tmp_path, "[keymap]\n'projects.filter' = 3\n")


def test_warning_days_must_be_less_than_after_days(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, "[cleanup]\nafter_days = 5\nwarning_days = 5\n")
    assert "warning_days" in str(err.value) and "after_days" in str(err.value)


# -- environment overrides -----------------------------------------------------------------


def test_env_overrides_file(tmp_path):
    c = load_text(
        tmp_path,
        '[docker]\nimage = "from-file:1"\n',
        environ={"VMUSER_DOCKER_IMAGE": "alpine:3.20", "VMUSER_DATA_DIR": str(tmp_path / "d")},
    )
    assert c.get("docker", "image") == "alpine:3.20"
    assert c.sources[("docker", "image")] == "env"
    assert c.data_dir == tmp_path / "d"
    assert c.sources[("data", "dir")] == "env"


@pytest.mark.parametrize(
    "name, text, section, key, value",
    [
        ("VMUSER_DOCKER_MEMORY", "512m", "docker", "memory", 512 * MiB),
        ("VMUSER_DOCKER_CPUS", "0.5", "docker", "cpus", 0.5),
        ("VMUSER_DOCKER_PIDS_LIMIT", " 64 ", "docker", "pids_limit", 64),
        ("VMUSER_DOCKER_BASE_URL", "tcp://h:2375", "docker", "base_url", "tcp://h:2375"),
        ("VMUSER_UI_READ_ONLY", "yes", "ui", "read_only", True),
        ("VMUSER_CLEANUP_ENABLED", "off", "cleanup", "enabled", False),
        ("VMUSER_SNAPSHOTS_IGNORE", "*.log, build/ ,", "snapshots", "ignore", ["*.log", "build/"]),
        ("VMUSER_LIMITS_MAX_FILE_SIZE", "1k", "limits", "max_file_size", 1024),
    ],
)
def test_env_values_are_converted_from_text(tmp_path, name, text, section, key, value):
    c = load_text(tmp_path, None, environ={name: text})
    assert c.get(section, key) == value
    assert c.sources[(section, key)] == "env"


@pytest.mark.parametrize(
    "name, text",
    [
        ("VMUSER_DOCKER_PIDS_LIMIT", "lots"),
        ("VMUSER_UI_READ_ONLY", "maybe"),
        ("VMUSER_DOCKER_MEMORY", "big"),
        ("VMUSER_DOCKER_CPUS", "x"),
    ],
)
def test_bad_env_value_names_the_variable(tmp_path, name, text):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, None, environ={name: text})
    assert f"environment variable {name}" in str(err.value)


def test_unrelated_env_vars_are_ignored(tmp_path):
    c = load_text(tmp_path, None, environ={"VMUSER_NOPE": "1", "VMUSER_DOCKER_NOPE": "1", "VMUSER_FROZEN_TIME": "x"})
    assert set(c.sources.values()) == {"default"}


def test_process_environment_used_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("VMUSER_DOCKER_IMAGE", "busybox:env")
    assert cfg.load(tmp_path / "missing.toml").get("docker", "image") == "busybox:env"


def test_overrides_win_over_env_and_file(tmp_path):
    c = load_text(
        tmp_path,
        f'[data]\ndir = "{tmp_path / "file"}"\n',
        environ={"VMUSER_DATA_DIR": str(tmp_path / "env")},
        overrides={("data", "dir"): str(tmp_path / "flag")},
    )
    assert c.data_dir == tmp_path / "flag"
    assert c.sources[("data", "dir")] == "option"


def test_config_path_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("VMUSER_CONFIG", str(tmp_path / "env.toml"))
    assert cfg.resolve_config_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    assert cfg.resolve_config_path() == tmp_path / "env.toml"
    monkeypatch.delenv("VMUSER_CONFIG")
    assert cfg.resolve_config_path() == cfg.default_config_path()


# -- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("512m", 512 * MiB),
        ("512M", 512 * MiB),
        ("512MB", 512 * MiB),
        ("512MiB", 512 * MiB),
        ("1g", 1024 * MiB),
        ("2.5G", int(2.5 * 1024 * MiB)),
        ("1t", 1024**4),
        ("64k", 65536),
        ("100", 100),
        (" 7 m ", 7 * MiB),
        (1048576, MiB),
        (0, 0),
    ],
)
def test_parse_size(value, expected):
    assert cfg.parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "m", "12x", "-1", "1.2.3m", "1 gigabyte", True, -1, 1.5, None, [1]])
def test_parse_size_rejects(value):
    with pytest.raises(ValueError):
        cfg.parse_size(value)


# -- the commented template ------------------------------------------------------------------


def test_commented_default_is_valid_toml_and_loads_to_defaults(tmp_path):
    text = cfg.commented_default()
    parsed = tomllib.loads(text)
    assert set(parsed) == set(cfg.SCHEMA) | {"keymap"}
    assert all(table == {} for table in parsed.values())  # everything commented out
    c = load_text(tmp_path, text)
    assert set(c.sources.values()) == {"default"}


def test_commented_default_documents_every_setting(tmp_path):
    text = cfg.commented_default()
    for section, settings in cfg.SCHEMA.items():
        assert f"[{section}]" in text
        for key, setting in settings.items():
            assert f"# {key} = " in text
            assert f"# {setting.doc}" in text


def test_uncommented_default_yields_the_defaults(tmp_path):
    keys = {k for s in cfg.SCHEMA.values() for k in s}
    lines = []
    uncommented = 0
    for line in cfg.commented_default().splitlines():
        m = re.match(r"^# (\w+) = ", line)
        if m and m.group(1) in keys:
            line = line[2:]
            uncommented += 1
        lines.append(line)
    assert uncommented == len([1 for s in cfg.SCHEMA.values() for _ in s])
    c = load_text(tmp_path, "\n".join(lines))
    defaults = cfg.load(tmp_path / "missing.toml", environ={})
    assert c.values == defaults.values
    assert set(c.sources.values()) == {"file"}


def test_config_example_is_what_config_init_writes():
    """config.example.toml documents every setting; it must not drift from the schema."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    assert example.read_text(encoding="utf-8") == cfg.commented_default()


# -- bounds: every number has a range, nan and inf are refused (issue 11, case 13) -------------

NUMERIC = [(s, k) for s, keys in cfg.SCHEMA.items() for k, st in keys.items() if st.kind in ("int", "float", "size")]


@pytest.mark.parametrize("section, key", NUMERIC)
def test_every_number_setting_has_a_minimum_and_a_maximum(tmp_path, section, key):
    setting = cfg.SCHEMA[section][key]
    assert setting.minimum is not None and setting.maximum is not None
    assert setting.minimum <= cfg.load(tmp_path / "missing.toml", environ={}).get(section, key) <= setting.maximum
    # both ends are accepted, one past the top is refused with the range in the message
    top = cfg.allowed(setting).split(" to ")[1]
    text = f'"{top}"' if setting.kind == "size" else top
    # (warning_days must stay below after_days, so that one is raised with it)
    first = f"[{section}]\n" + ("after_days = 36500\n" if key == "warning_days" else "") + f"{key} = {text}\n"
    assert load_text(tmp_path, first).get(section, key) == setting.maximum
    over = setting.maximum * 2 + 1
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, f"[{section}]\n{key} = {over}\n")
    assert f"[{section}] {key}: " in str(err.value) and f"is above the maximum {top} " in str(err.value)
    assert f"(allowed: {cfg.allowed(setting)})" in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[cleanup]\nafter_days = 99999999999",
         "[cleanup] after_days: 99999999999 is above the maximum 36500 (allowed: 1 to 36500)"),
        ("[cleanup]\nwarning_days = 99999999999", "[cleanup] warning_days: 99999999999 is above the maximum 36499"),
        ('[docker]\nmemory = "99999999999999999999g"',
         "[docker] memory: '99999999999999999999g' is above the maximum 4t (allowed: 4m to 4t)"),
        (f'[docker]\nmemory = "{"9" * 400}g"', "[docker] memory: '999"),  # no OverflowError from float()
        ("[docker]\nmemory = 9223372036854775807", "[docker] memory: 9223372036854775807 is above the maximum 4t"),
        ('[docker]\nmemory = "1m"', "[docker] memory: '1m' is below the minimum 4m (allowed: 4m to 4t)"),
        ("[docker]\ncpus = 1e300", "[docker] cpus: 1e+300 is above the maximum 1024 (allowed: 0.01 to 1024)"),
        ("[snapshots]\ninterval = 99999999999999", "[snapshots] interval: 99999999999999 is above the maximum 604800"),
        ("[snapshots]\ndebounce = 1e9", "[snapshots] debounce: 1e+09 is above the maximum 3600 (allowed: 0.1 to 3600)"),
        ("[retention]\nkeep_last = 99999999999", "[retention] keep_last: 99999999999 is above the maximum 1000000"),
        ("[retention]\nkeep_daily = -2", "[retention] keep_daily: -2 is below the minimum -1 (allowed: -1 to 1000000)"),
        ('[retention]\nkeep_within = "99999999999d"', "[retention] keep_within: bad duration '99999999999d': at most 100 years"),
        ('[retention]\nkeep_within = "101y"', "[retention] keep_within: bad duration '101y': at most 100 years"),
        ('[runtime]\nmemory_budget = "1000t"', "[runtime] memory_budget: '1000t' is above the maximum 64t (allowed: 0 to 64t)"),
        ('[limits]\nmax_file_size = "2t"', "[limits] max_file_size: '2t' is above the maximum 1t"),
        ("[limits]\nmax_projects = 10000000000", "[limits] max_projects: 10000000000 is above the maximum 1000000"),
        ("[store]\nworkers = 100000", "[store] workers: 100000 is above the maximum 256 (allowed: 0 to 256)"),
        ("[docker]\ncpus = 1" + "0" * 400, "…0000000 is above the maximum 1024 (allowed: 0.01 to 1024)"),
        ("[docker]\npids_limit = 1" + "0" * 400, "[docker] pids_limit: 1" + "0" * 31 + "…0000000 is above the maximum 1000000"),
    ],
)
def test_numbers_out_of_range_name_the_key_and_the_range(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text + "\n")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "section, key, toml",
    [(s, k, v) for s, k in [("docker", "cpus"), ("snapshots", "debounce")] for v in ("nan", "inf", "-inf", "+nan")],
)
def test_non_finite_floats_in_the_file_are_refused(tmp_path, section, key, toml):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, f"[{section}]\n{key} = {toml}\n")
    span = cfg.allowed(cfg.SCHEMA[section][key])
    assert f"[{section}] {key}: " in str(err.value) and "is not a finite number" in str(err.value)
    assert f"(allowed: {span})" in str(err.value)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("VMUSER_DOCKER_CPUS", "nan", "[docker] cpus: nan is not a finite number (allowed: 0.01 to 1024)"),
        ("VMUSER_DOCKER_CPUS", "Infinity", "[docker] cpus: inf is not a finite number"),
        ("VMUSER_SNAPSHOTS_DEBOUNCE", "-inf", "[snapshots] debounce: -inf is not a finite number"),
        ("VMUSER_CLEANUP_AFTER_DAYS", "99999999999", "[cleanup] after_days: 99999999999 is above the maximum 36500"),
        ("VMUSER_DOCKER_MEMORY", "99999999999999999999g", "[docker] memory: '99999999999999999999g' is above the maximum 4t"),
        ("VMUSER_DOCKER_PIDS_LIMIT", "99999999999", "[docker] pids_limit: 99999999999 is above the maximum 1000000"),
        ("VMUSER_RETENTION_KEEP_WITHIN", "99999999999d", "[retention] keep_within: bad duration '99999999999d'"),
    ],
)
def test_env_overrides_of_numbers_are_bounded_the_same_way(tmp_path, name, text, message):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, None, environ={name: text})
    assert message in str(err.value)
    if name != "VMUSER_RETENTION_KEEP_WITHIN":  # checked after the layering, as the file's value is
        assert str(err.value).startswith(f"environment variable {name}: ")


@pytest.mark.parametrize("text", ["nan", "inf", "1e999", "0", "5000"])
def test_a_setting_typed_in_the_tui_is_bounded_too(text):
    with pytest.raises(ConfigError) as err:
        cfg.parse_text("docker", "cpus", text)
    assert str(err.value).startswith("[docker] cpus: ") and "(allowed: 0.01 to 1024)" in str(err.value)


def test_the_example_file_states_each_range():
    text = cfg.commented_default()
    assert "# Days of inactivity after which a project is deleted. Range: 1 to 36500." in text
    assert "Range: 4m to 4t." in text
