"""Regenerate data/sample.jsonl: the reference payloads, then a small synthetic term.

Run from the repository root:  .venv/bin/python data/make_sample.py
The output is deterministic: running it again gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from replay.synthetic.generate import GeneratorSettings, write_dump

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = GeneratorSettings(
    students=45,
    courses=3,
    outcomes=8,
    results_per_student=15,
    seed=2025,
    duplicates=0.03,
    shuffle_seconds=300.0,
    legacy=0.03,
)


def main() -> int:
    payloads = orjson.loads((ROOT / "tests/fixtures/reference_payloads.json").read_bytes())
    out_path = ROOT / "data/sample.jsonl"
    with out_path.open("wb") as out:
        n = 0
        for name, payload in payloads.items():
            if not name.startswith("_"):
                out.write(orjson.dumps(payload) + b"\n")
                n += 1
        n += write_dump(SETTINGS, out)
    print(f"wrote {n} lines to {out_path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
