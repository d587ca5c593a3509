"""What reading a Result will take, told before the first page: calls, time and cost."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """The answer of :meth:`Result.estimate`. ``None`` means "cannot tell" (``basis`` says
    why); ``notes`` carry warnings such as a quota the read would exhaust."""

    records: int | None
    calls: int | None
    seconds: float | None
    cost: float | None
    currency: str | None = None
    basis: str = ""
    notes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        def num(value: int | None) -> str:
            return "?" if value is None else f"{value:,}"

        seconds = "?" if self.seconds is None else f"{self.seconds:,.1f}s"
        cost = "?" if self.cost is None else f"{self.cost:,.4f} {self.currency or ''}".strip()
        text = (f"~{num(self.records)} records in ~{num(self.calls)} calls, ~{seconds}, "
                f"cost {cost} ({self.basis})")
        return "\n".join([text, *(f"note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        from html import escape

        return "<pre>" + escape(str(self)) + "</pre>"
