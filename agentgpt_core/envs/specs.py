"""Operator env specs: what a host is allowed to serve.

``gym:CartPole-v1`` serves the registered id under its own name;
``ALIAS=gym:package.module:factory`` serves what the operator's factory makes, under
ALIAS. Specs come only from the operator (command line, config), never from a
remote caller, which can only name one of the served names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALIAS = re.compile(r"^[A-Za-z0-9_.\-/]+$")


@dataclass(frozen=True)
class EnvSpec:
    """One allowed env: the name callers use, the adapter, and the adapter's target."""

    name: str
    adapter: str
    target: str

    @classmethod
    def parse(cls, text: str) -> EnvSpec:
        """Parse ``[ALIAS=]ADAPTER:TARGET``; raise ValueError with the expected form."""
        alias = None
        if "=" in text.split(":", 1)[0]:
            alias, text = text.split("=", 1)
            if not _ALIAS.match(alias):
                raise ValueError(f"env alias {alias!r} may use letters, digits and _ . - / only")
        adapter, sep, target = text.partition(":")
        if not sep or not adapter or not target:
            raise ValueError(
                f"env spec {text!r} must look like ADAPTER:TARGET (e.g. gym:CartPole-v1) "
                "or ALIAS=ADAPTER:TARGET (e.g. mysim=gym:my_pkg.envs:make_env)"
            )
        if alias is None and ":" in target:
            raise ValueError(f"env spec {text!r} names a factory; give it a name: ALIAS={text}")
        return cls(name=alias or target, adapter=adapter, target=target)

    def __str__(self) -> str:
        plain = self.name == self.target
        return f"{self.adapter}:{self.target}" if plain else f"{self.name}={self.adapter}:{self.target}"
