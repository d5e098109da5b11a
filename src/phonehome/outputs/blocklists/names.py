"""Domain names as blocklists need them: ASCII, valid, never a bare suffix, suffix-collapsed."""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import idna

MAX_NAME = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")

_T = TypeVar("_T")


class InvalidName(ValueError):
    """A name that cannot go into a blocklist; the message says why."""


@functools.cache
def _extractor() -> Any:
    import tldextract

    # The bundled public-suffix snapshot only: never fetch the list over the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def is_public_suffix(name: str) -> bool:
    """True for ``com``, ``co.uk`` and other names under which anyone can register."""
    result = _extractor()(name)
    return not result.top_domain_under_public_suffix


def normalise_name(raw: str) -> str:
    """``raw`` as a lower-case ASCII (IDNA/punycode) name without trailing dot.

    Raises ``InvalidName`` for IP literals, wildcards, single labels, bare public suffixes and
    anything that is not a DNS name, so no blocklist can ever match everything or a whole TLD.
    """
    name, problem = _normalised(raw)
    if name is None:
        raise InvalidName(problem)
    return name


@functools.lru_cache(maxsize=65536)
def _normalised(raw: str) -> tuple[str | None, str]:
    """(name, "") or (None, why not): cached, since a name recurs for every device and flow."""
    try:
        return _normalise(raw), ""
    except InvalidName as e:
        return None, str(e)


def _normalise(raw: str) -> str:
    name = raw.strip().rstrip(".").lower()
    if not name:
        raise InvalidName("empty name")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise InvalidName(f"not a valid internationalised name ({e})") from None
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise InvalidName("an address, not a name")
    if len(name) > MAX_NAME:
        raise InvalidName(f"longer than {MAX_NAME} characters")
    labels = name.split(".")
    bad = next((label for label in labels if not _LABEL.match(label)), None)
    if bad is not None:
        raise InvalidName(f"bad label {bad!r}")
    if len(labels) < 2 or is_public_suffix(name):
        raise InvalidName("a top-level domain or public suffix")
    return name


def printable(raw: str, limit: int = 80) -> str:
    """``raw`` safe to show in a comment or warning: no control characters, bounded."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else "?" for c in raw)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.lru_cache(maxsize=65536)
def name_key(name: str) -> tuple[str, tuple[str, ...]]:
    """Sort key: by registrable domain, then by reversed labels, so a domain's names sit together
    (``hik-connect.com``, ``api.hik-connect.com``, ``litedev.hik-connect.com``, ``ys7.com``)."""
    registrable = _extractor()(name).top_domain_under_public_suffix or name
    return registrable, tuple(reversed(name.split(".")))


def parent_in(name: str, names: set[str] | frozenset[str]) -> str | None:
    """The highest proper parent of ``name`` that is in ``names``, if any."""
    labels = name.split(".")
    for i in range(len(labels) - 1, 0, -1):
        candidate = ".".join(labels[i:])
        if candidate in names:
            return candidate
    return None


def collapse(items: Sequence[_T], name_of: Any) -> list[tuple[_T, list[_T]]]:
    """For suffix-matching formats: each item whose name has no listed parent, with the items it covers.

    ``name_of(item)`` gives an item's name. Order is kept.
    """
    names = {name_of(item) for item in items}
    kept: dict[str, tuple[_T, list[_T]]] = {}
    covered: list[tuple[str, _T]] = []
    for item in items:
        parent = parent_in(name_of(item), names)
        if parent is None:
            kept[name_of(item)] = (item, [])
        else:
            covered.append((parent, item))
    for parent, item in covered:
        kept[parent][1].append(item)
    return list(kept.values())


def covered_by(name: str, blocked: Iterable[str]) -> bool:
    """True when a suffix rule for one of ``blocked`` would match ``name``."""
    return any(name == b or name.endswith("." + b) for b in blocked)
