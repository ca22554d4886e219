"""A base for objects used as ``async with obj as same_obj``: entering opens, leaving closes.

Why: the vCenter client and the notifier are both such objects; the context-manager
protocol (its signatures and the ``return self``) is written once here, and each class
says only what opening and closing mean for it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["AsyncResource"]


class AsyncResource(ABC):
    """``async with`` support: :meth:`_open` on entry, :meth:`_close` on exit, always."""

    __slots__ = ()

    @abstractmethod
    async def _open(self) -> None:
        """Acquire what the object needs (connections, background tasks)."""

    @abstractmethod
    async def _close(self, exc: BaseException | None) -> None:
        """Release it; ``exc`` is what ended the block (None: it ended normally)."""

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(exc)
