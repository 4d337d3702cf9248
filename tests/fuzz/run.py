"""Coverage-guided fuzzing of the readers with atheris: `python tests/fuzz/run.py TARGET [libFuzzer options]`.

    nice -n 10 python tests/fuzz/run.py handle -runs=20000
    nice -n 10 python tests/fuzz/run.py wire -max_total_time=300 -print_final_stats=1

TARGET is one of tests/fuzz/targets.py (handle, params, encoding, vectors, manifest, wire).
The corpus starts from the shipped vectors (written to --corpus DIR, default a temporary
folder); inputs are mutated mostly in structure (targets.mutate: a node replaced, dropped or
duplicated, hex in the wrong case or length), sometimes byte by byte. Memory is capped
(--memory-mb, default 2048) so that an allocation sized by a received length shows up as a
MemoryError instead of swapping the machine. Findings already reported
(targets.KNOWN_FINDINGS, empty while none is open) are counted, with one reproducer each in
--findings DIR, and the campaign goes on; anything else stops it with libFuzzer's crash file.
Quick checks of the same targets run in the default test suite: tests/test_fuzz.py (hypothesis).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import resource
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `fuzz.targets`

with atheris.instrument_imports(include=["mpksa", "fuzz"]):
    from fuzz import targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=True)
    parser.add_argument("target", choices=sorted(targets.TARGETS))
    parser.add_argument("--corpus", help="corpus folder (default: a new temporary folder seeded from the vectors)")
    parser.add_argument("--findings", default="fuzz-findings", help="folder for reproducers of known findings")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit (default: %(default)s)")
    args, libfuzzer = parser.parse_known_args()

    limit = args.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    corpus = Path(args.corpus or tempfile.mkdtemp(prefix=f"mpksa-fuzz-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in targets.seeds(args.target):
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    findings = Path(args.findings)
    counts: collections.Counter[str] = collections.Counter()
    check = targets.TARGETS[args.target]

    def one_input(data: bytes) -> None:
        try:
            check(data)
        except targets.Finding as finding:
            if finding.kind not in targets.KNOWN_FINDINGS:
                raise
            counts[finding.kind] += 1
            if counts[finding.kind] == 1:
                findings.mkdir(parents=True, exist_ok=True)
                (findings / f"{args.target}-{finding.kind}").write_bytes(data)
            _report(findings, args.target, counts)

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        """Mostly structural JSON mutations (targets.mutate), sometimes libFuzzer's own byte mutations."""
        rng = random.Random(seed)
        if rng.random() < 0.25:
            return atheris.Mutate(data, max_size)
        out = targets.mutate(data, rng)
        return out if len(out) <= max_size else atheris.Mutate(data, max_size)

    max_len = max(len(s) for s in targets.seeds(args.target))
    atheris.Setup([sys.argv[0], f"-max_len={max_len + 4096}", "-timeout=20", *libfuzzer, str(corpus)], one_input,
                  custom_mutator=mutator)
    atheris.Fuzz()


def _report(findings: Path, target: str, counts: collections.Counter[str]) -> None:
    (findings / f"{target}-known.json").write_text(json.dumps(dict(counts), indent=1) + "\n")


if __name__ == "__main__":
    main()
