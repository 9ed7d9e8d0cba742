"""``--publish`` specs: docker run -p's forms, loopback unless an address is named."""

from __future__ import annotations

import pytest

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.ports import parse_publish
from vmuser_tui.core.runtime.base import PortBinding


@pytest.mark.parametrize(("spec", "want"), [
    ("8000", PortBinding(8000, None, "127.0.0.1")),
    ("8080:8000", PortBinding(8000, 8080, "127.0.0.1")),
    ("0.0.0.0:8080:8000", PortBinding(8000, 8080, "0.0.0.0")),
    ("127.0.0.1::8000", PortBinding(8000, None, "127.0.0.1")),
    ("[::1]:8080:8000", PortBinding(8000, 8080, "::1")),
    ("5353/udp", PortBinding(5353, None, "127.0.0.1", "udp")),
])
def test_forms(spec, want):
    assert parse_publish(spec) == want


@pytest.mark.parametrize(("spec", "says"), [
    ("", "CONTAINER_PORT"), ("web", "not a port number"), ("0", "not a port number"),
    ("70000", "not a port number"), ("8000-8010", "not a port number"), ("a.b.c.d:1:2", "not an IP address"),
    ("1:2:3:4", "CONTAINER_PORT"), ("8000/sctp", "tcp or udp"), ("[::1:80", "brackets"),
])
def test_bad_specs_say_what_is_accepted(spec, says):
    with pytest.raises(UsageError, match=says):
        parse_publish(spec)
