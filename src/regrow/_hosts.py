"""Host names: is an address this computer's own (loopback)? Shared by ``regrow serve`` and clinic sign-in."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name, an IPv4 or an IPv6 address, with or without brackets) is this computer.

    Parameters
    ----------
    host : str

    Returns
    -------
    bool
        True for ``localhost``, 127.0.0.0/8 and ``::1``.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
