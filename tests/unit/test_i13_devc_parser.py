"""Issue 13: a workspace's devcontainer.json read into a launch plan (no engine needed).

What a user notices: which properties take effect, the one note listing what is ignored,
and one line (file, line, column or property) for what is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vmuser_tui.core import devcontainer, run_args
from vmuser_tui.core.errors import ConfigError, UsageError
from vmuser_tui.core.runtime.base import MountSpec, PortBinding


def _load(tmp_path: Path, text: str, *, rel: str = ".devcontainer/devcontainer.json", allow_binds: bool = False,
          user: str = "") -> devcontainer.Devcontainer:
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(text)
    assert devcontainer.find(str(tmp_path)) == rel
    return devcontainer.load(str(tmp_path), rel, project_id="web-1234abcd", allow_binds=allow_binds,
                             user_setting=user)


def test_comments_and_trailing_commas_are_read(tmp_path):
    dc = _load(tmp_path, """{
      // the toolchain image
      "image": "vmuser-busybox:local", /* block */
      "containerEnv": {"A": "1", "B": true,},
    }""")
    assert dc.image == "vmuser-busybox:local" and dc.env == {"A": "1", "B": "true"} and dc.build is None


@pytest.mark.parametrize("text, line, column", [
    ('{\n  "image": "x"\n  "containerEnv": {}\n}', 3, 3),
    ('{\n"a": 1,\n"b": \n}', 4, 1),
])
def test_broken_json_names_file_line_and_column(tmp_path, text, line, column):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    message = str(err.value)
    assert message.startswith(f".devcontainer/devcontainer.json: line {line}, column {column}: ")
    assert "\n" not in message and "--no-devcontainer" in message


def test_top_level_must_be_an_object(tmp_path):
    with pytest.raises(ConfigError, match="expected an object"):
        _load(tmp_path, "[1, 2]")


def test_the_three_command_forms(tmp_path):
    dc = _load(tmp_path, json.dumps({
        "postCreateCommand": "make deps && echo ok",
        "postStartCommand": {"server": ["python", "-m", "http.server"], "note": "echo started"},
    }))
    assert [(h.stage, h.name, h.argv) for h in dc.hooks] == [
        ("postCreate", "", ["sh", "-c", "make deps && echo ok"]),
        ("postStart", "server", ["python", "-m", "http.server"]),
        ("postStart", "note", ["sh", "-c", "echo started"]),
    ]
    dc = _load(tmp_path, json.dumps({"postCreateCommand": ["npm", "ci"]}))
    assert [(h.stage, h.argv) for h in dc.hooks] == [("postCreate", ["npm", "ci"])]


@pytest.mark.parametrize("value", [[], [1, 2], 5, {"x": 3}])
def test_a_malformed_command_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="postCreateCommand.*expected a command string"):
        _load(tmp_path, json.dumps({"postCreateCommand": value}))


def test_mounts_string_and_object_forms_are_named_volumes_of_the_project(tmp_path):
    dc = _load(tmp_path, json.dumps({"mounts": [
        "source=cache,target=/home/dev/.cache,type=volume",
        {"source": "data", "target": "/data", "type": "volume"},
        "src=ro-vol,dst=/ro,type=volume,readonly",
    ]}))
    assert dc.mounts == [
        MountSpec("volume", "vmuser-web-1234abcd-cache", "/home/dev/.cache"),
        MountSpec("volume", "vmuser-web-1234abcd-data", "/data"),
        MountSpec("volume", "vmuser-web-1234abcd-ro-vol", "/ro", read_only=True),
    ]


def test_bind_mounts_are_refused_unless_the_config_allows_them(tmp_path):
    text = json.dumps({"mounts": ["source=/etc,target=/host-etc,type=bind"]})
    with pytest.raises(ConfigError, match=r"bind mounts of host folders are refused.*allow_bind_mounts = true"):
        _load(tmp_path, text)
    assert _load(tmp_path, text, allow_binds=True).mounts == [MountSpec("bind", "/etc", "/host-etc")]


@pytest.mark.parametrize("mount, words", [
    ("source=x,target=relative,type=volume", "absolute path"),
    ("source=x,target=/workspace,type=volume", "absolute path other than"),
    ("source=../x,target=/x,type=volume", "needs a name"),
    ("source=x,target=/x,type=tmpfs", "not supported"),
])
def test_bad_mounts_are_refused(tmp_path, mount, words):
    with pytest.raises(ConfigError, match=words):
        _load(tmp_path, json.dumps({"mounts": [mount]}))


def test_unknown_properties_are_listed_once(tmp_path):
    dc = _load(tmp_path, json.dumps({"image": "x", "features": {}, "customizations": {"vscode": {}},
                                     "initializeCommand": "rm -rf ~", "name": "ok"}))
    ignored = [n for n in dc.notes if "ignored (not supported by vmuser)" in n]
    assert ignored == [(".devcontainer/devcontainer.json: ignored (not supported by vmuser): customizations, "
                       "features, initializeCommand")]
    assert not dc.hooks  # initializeCommand (a host command) is never run


def test_ports_forward_and_app_port(tmp_path):
    dc = _load(tmp_path, json.dumps({"forwardPorts": [8000, "db:5432", "3000"], "appPort": ["9000:90", 7000]}))
    assert dc.ports == [PortBinding(8000), PortBinding(3000), PortBinding(90, 9000), PortBinding(7000, 7000)]
    assert all(p.host_ip == "127.0.0.1" for p in dc.ports)
    assert any("forwardPorts db:5432 ignored" in n for n in dc.notes)


def test_env_remote_env_and_variables(tmp_path):
    os.environ["VMUSER_TEST_SECRET"] = "from-the-host"
    try:
        dc = _load(tmp_path, json.dumps({
            "workspaceFolder": "/workspaces/app",
            "containerEnv": {"TOOL": "/opt/tool", "WS": "${containerWorkspaceFolder}", "H": "${localEnv:HOME}"},
            "remoteEnv": {"P": "${containerEnv:TOOL}/bin", "PATH": "${containerEnv:PATH}:/x",
                          "S": "${localEnv:VMUSER_TEST_SECRET:fallback}"},
        }))
    finally:
        del os.environ["VMUSER_TEST_SECRET"]
    assert dc.workdir == "/workspaces/app"
    assert dc.env == {"TOOL": "/opt/tool", "WS": "/workspaces/app", "H": "", "P": "/opt/tool/bin", "S": "fallback"}
    assert any("remoteEnv PATH" in n and "left out" in n for n in dc.notes)
    assert any("localEnv:HOME, VMUSER_TEST_SECRET" in n for n in dc.notes)


@pytest.mark.parametrize("folder", ["relative", "/", "/proc/x", "/a/../b"])
def test_bad_workspace_folder_is_refused(tmp_path, folder):
    with pytest.raises(ConfigError, match="workspaceFolder"):
        _load(tmp_path, json.dumps({"workspaceFolder": folder}))


def test_build_paths_are_relative_to_the_file_and_stay_in_the_workspace(tmp_path):
    dc = _load(tmp_path, json.dumps({"build": {"dockerfile": "Dockerfile", "context": "..", "args": {"V": "1"},
                                               "target": "dev", "cacheFrom": "x"}}))
    assert dc.build is not None
    assert (dc.build.context, dc.build.dockerfile, dc.build.args, dc.build.target) == (
        "", ".devcontainer/Dockerfile", {"V": "1"}, "dev")
    assert any("build.cacheFrom ignored" in n for n in dc.notes)
    legacy = _load(tmp_path, json.dumps({"dockerFile": "Dockerfile"}))
    assert legacy.build is not None and legacy.build.context == ".devcontainer"
    with pytest.raises(ConfigError, match="outside the workspace"):
        _load(tmp_path, json.dumps({"build": {"dockerfile": "Dockerfile", "context": "../.."}}))


def test_the_user_is_the_configs(tmp_path):
    text = json.dumps({"image": "x", "remoteUser": "root", "containerUser": "vscode"})
    [note] = [n for n in _load(tmp_path, text).notes if "user" in n]
    assert "containerUser 'vscode' and remoteUser 'root' ignored" in note and "[docker] user" in note
    as_root = _load(tmp_path, json.dumps({"image": "x", "remoteUser": "root"}), user="root")
    assert not any("ignored:" in n for n in as_root.notes)
    same = _load(tmp_path, json.dumps({"image": "x", "containerUser": "1000"}), user="1000:1000")
    assert not any("ignored:" in n for n in same.notes)


def test_dot_devcontainer_json_at_the_top_and_the_folder_first(tmp_path):
    (tmp_path / ".devcontainer.json").write_text('{"image": "top"}')
    assert devcontainer.find(str(tmp_path)) == ".devcontainer.json"
    (tmp_path / ".devcontainer").mkdir()
    (tmp_path / ".devcontainer" / "devcontainer.json").write_text('{"image": "folder"}')
    assert devcontainer.find(str(tmp_path)) == ".devcontainer/devcontainer.json"


def test_a_symlinked_devcontainer_json_is_not_read(tmp_path):
    secret = tmp_path.parent / f"{tmp_path.name}-host-file.json"
    secret.write_text('{"image": "host"}')
    (tmp_path / ".devcontainer.json").symlink_to(secret)
    with pytest.raises(ConfigError, match="without symlinks"):
        devcontainer.load(str(tmp_path), ".devcontainer.json", project_id="p", allow_binds=False, user_setting="")


def test_dockerfile_option_stays_in_the_workspace(tmp_path):
    spec = devcontainer.for_dockerfile(str(tmp_path), "docker/Dockerfile.dev", project_id="p")
    assert (spec.context, spec.dockerfile, spec.source) == ("", "docker/Dockerfile.dev", "--dockerfile")
    for bad in ("../Dockerfile", "/etc/passwd", "."):
        with pytest.raises(UsageError):
            devcontainer.for_dockerfile(str(tmp_path), bad, project_id="p")


# -- runArgs: an allow-list -----------------------------------------------------------------------

def test_allowed_run_args_translate():
    ra = run_args.parse(["--init", "--shm-size=256m", "--ulimit", "nofile=1024:2048", "--tmpfs", "/scratch:size=64m",
                         "--add-host", "db:10.0.0.5", "-e", "A=1", "--env=B=2"], "f")
    assert ra.run_options == {"init": True, "shm_size": "256m",
                              "ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}],
                              "tmpfs": {"/scratch": "size=64m"}, "extra_hosts": {"db": "10.0.0.5"}}
    assert ra.env == {"A": "1", "B": "2"}


@pytest.mark.parametrize("args, shown", [
    (["--privileged"], "'--privileged' is not allowed"),
    (["--cap-add", "SYS_ADMIN"], "'--cap-add' is not allowed"),
    (["--network=host"], "'--network=host' is not allowed"),
    (["-v", "/:/host"], "'-v' is not allowed"),
    (["--user", "root"], "'--user' is not allowed"),
    (["--ulimit", "memlock=-1"], "names a limit that is not allowed"),
    (["--shm-size"], "needs a value"),
])
def test_refused_run_args_name_the_arg_and_the_allow_list(args, shown):
    with pytest.raises(ConfigError) as err:
        run_args.parse(args, ".devcontainer.json")
    assert shown in str(err.value)
    assert "allowed: --init, --shm-size, --ulimit, --tmpfs, --add-host, -e/--env" in str(err.value)
