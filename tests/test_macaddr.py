"""The one MAC notation parser every source uses."""

from __future__ import annotations

import pytest

from phonehome.macaddr import normalise_mac


@pytest.mark.parametrize(
    "text",
    [
        "54:8C:81:3E:92:A7",
        "54-8c-81-3e-92-a7",
        "548c.813e.92a7",
        "548c-813e-92a7",
        "548C813E92A7",
        " 54 8c 81 3e 92 a7 ",
    ],
)
def test_every_common_notation(text: str) -> None:
    assert normalise_mac(text) == "54:8c:81:3e:92:a7"


def test_unpadded_macos_form() -> None:
    assert normalise_mac("0:1a:2b:3:4d:5e") == "00:1a:2b:03:4d:5e"


@pytest.mark.parametrize(
    "text", ["", "54:8c:81:3e:92", "54:8c-81:3e:92:a7", "zz:8c:81:3e:92:a7", "548c.813e.92a"]
)
def test_not_a_mac(text: str) -> None:
    assert normalise_mac(text) is None
