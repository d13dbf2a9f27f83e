"""Decisions: what a claim gets, who is paid, from which fund, and why."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from jinhua_subsidy.citations import Citation
from jinhua_subsidy.money import format_yuan

#: The fields of a decision in every output format, in this order.
#: ``status`` is ``provisional`` when any catalog or list the decision used is provisional.
#: ``allowance`` is the living allowance (R25) in yuan, ``allowance_channel`` its fund (employment:<region>).
FIELDS = ("claim_id", "region", "eligible", "amount", "payee", "channel", "reasons", "citations", "status",
          "allowance", "allowance_channel")


@frozen
class Step:
    """One rule applied: what it says (Chinese), the value it used, and its citation."""

    rule: str
    value: str
    citation: Citation | None = None


@frozen(kw_only=True)
class Decision:
    """A claim's outcome. ``amount`` is in fen; ``reasons`` is empty when paid in full."""

    claim_id: str
    region: str
    eligible: bool
    amount: int
    payee: str
    channel: str
    reasons: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    status: str = "official"
    allowance: int = 0  #: fen
    allowance_channel: str = ""
    steps: tuple[Step, ...] = field(default=(), eq=False, repr=False)
    #: The claim's line in its file (0: not known).
    row: int = field(default=0, eq=False, repr=False)

    def record(self) -> dict[str, Any]:
        """The decision as output fields (amount as a yuan string, lists as lists)."""
        return {
            "claim_id": self.claim_id,
            "region": self.region,
            "eligible": self.eligible,
            "amount": format_yuan(self.amount),
            "payee": self.payee,
            "channel": self.channel,
            "reasons": list(self.reasons),
            "citations": list(self.citations),
            "status": self.status,
            "allowance": format_yuan(self.allowance),
            "allowance_channel": self.allowance_channel,
        }
