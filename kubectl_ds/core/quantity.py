"""resource.Quantity strings ("100m", "1.5Gi", "1e3") as exact numbers."""

from __future__ import annotations

import re
from decimal import Decimal, DecimalException

_SUFFIX = {"": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
           "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
           "P": Decimal("1e15"), "E": Decimal("1e18"),
           "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
           "Pi": Decimal(2**50), "Ei": Decimal(2**60)}
_QTY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[a-zA-Z]*)$")
LIMIT = Decimal(2**63)   # the largest magnitude taken (8Ei); beyond it a quantity is refused, not rounded


class QuantityOutOfRange(ValueError):
    """A quantity beyond LIMIT, or not finite (a JSON 1e400 read as infinity)."""


def parse_quantity(text) -> Decimal:
    """Parse a Kubernetes quantity; raises ValueError for a malformed one.

    QuantityOutOfRange for one beyond LIMIT or not finite: never a silent infinity, nor a
    minutes-long power of ten ("1e99999999").
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = Decimal(str(text))
    else:
        m = _QTY.match(str(text).strip())
        if not m:
            raise ValueError(f"invalid quantity {text!r}")
        number, suffix = m.groups()
        try:
            value = Decimal(number)
            if suffix[:1] in ("e", "E") and suffix not in _SUFFIX:   # 1e3, not 1E (exa) nor 1Ei
                exponent = int(suffix[1:])
                if value and exponent > 40:
                    raise QuantityOutOfRange(f"quantity {text!r} is out of range")
                value = value * Decimal(10) ** exponent if exponent >= -40 else Decimal(0)
            else:
                value = value * _SUFFIX[suffix]
        except (KeyError, DecimalException):
            raise ValueError(f"invalid quantity {text!r}") from None
    if not value.is_finite() or abs(value) > LIMIT:
        raise QuantityOutOfRange(f"quantity {text!r} is out of range")
    return value


def format_cpu(value: Decimal) -> str:
    millis = int((value * 1000).to_integral_value())
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def format_bytes(value: Decimal) -> str:
    v = int(value)
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if v >= size and v % size == 0 or v >= 10 * size:
            return f"{v / size:.0f}{unit}" if v % size == 0 else f"{v / size:.1f}{unit}"
    return str(v)


def format_resource(resource: str, value: Decimal) -> str:
    if resource == "cpu":
        return format_cpu(value)
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        return format_bytes(value)
    return str(value.normalize()) if value == value.to_integral_value() else str(value)
