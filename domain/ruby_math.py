"""Ruby's float arithmetic, as Canvas's rollups do it: rounding and summation.

Canvas computes in Ruby, and a rollup's last rounded digit depends on Ruby's own
`Float#round` and `Array#sum`, which differ from Python's `round` and `math.fsum` at
the edges. Kept apart from the rollup rules, which only call them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from domain.rating import c_round


def round_half_up(x: float, places: int = 2) -> float:
    """Ruby's `Float#round(places)` (float.c `flo_round` with `round_half_up`).

    Ruby rounds `x * 10**places` half away from zero, then steps up when the decimal
    half-way point `(f + 0.5) / s`, as a double, is still <= x: so 3.175 -> 3.18 although
    the double is below 3.175. It is NOT `Decimal(repr(x))` rounding: for the double just
    below a half-way point, e.g. 11.754999999999999, `x * 100` rounds to 1175.5 and Ruby
    gives 11.76 where the decimal string gives 11.75.
    """
    if places < 0:
        raise ValueError("negative places are not supported")
    if places == 0 and math.isfinite(x):  # Ruby returns an Integer, which has no -0
        return c_round(x) + 0.0
    if x == 0.0 or not math.isfinite(x):
        return x
    _, binexp = math.frexp(x)
    if _round_overflow(places, binexp):
        return x
    if _round_underflow(places, binexp):
        return 0.0
    if places > 14:  # float.c: pow(10, ndigits) may be inexact; Ruby rounds the exact rational
        return float(Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    s = 10.0**places
    f = c_round(x * s)
    if x > 0:
        if (f + 0.5) / s <= x:
            f += 1
    elif (f - 0.5) / s >= x:
        f -= 1
    return f / s


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as float.c's `binexp / 4` does."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _round_overflow(ndigits: int, binexp: int) -> bool:
    """float.c `float_round_overflow`: so many digits that x is returned as it is."""
    float_dig = 15 + 2  # DBL_DIG + 2
    return ndigits >= float_dig - (_c_div(binexp, 4) if binexp > 0 else _c_div(binexp, 3) - 1)


def _round_underflow(ndigits: int, binexp: int) -> bool:
    """float.c `float_round_underflow`: |x| so small that the answer is +0.0."""
    return ndigits < -(_c_div(binexp, 3) + 1 if binexp > 0 else _c_div(binexp, 4))


def ruby_sum(values: Sequence[float]) -> float:
    """Ruby's `Array#sum` over floats: Kahan-Babuska compensated summation (array.c).

    Not `math.fsum`, which is exactly rounded: the two can differ in the last bit, and
    a last bit can move a rounded digit. Values are finite here.
    """
    total = 0.0
    compensation = 0.0
    for x in values:
        t = total + x
        if abs(total) >= abs(x):
            compensation += (total - t) + x
        else:
            compensation += (x - t) + total
        total = t
    return total + compensation
