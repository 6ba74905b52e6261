"""What a demo loader step may need besides the session (its own module, so the loaders of each
package and ``api.demo``, which registers them, do not import each other)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoContext:
    """What a loader step may need besides the session."""

    secret: bytes
    report: Callable[[str], None]
