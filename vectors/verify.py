"""`mpksa vectors verify`: check every vector file against its schema and the reference (spec ch. 8).

Checks, each reported as one line naming the file and test:
  1. the schemas are valid Draft 2020-12 schemas, and every file validates against the one it names;
  2. files are canonical JSON (sorted keys, indent 1, ASCII, trailing newline) at the path their
     profile, parameter set and family say;
  3. numberOfTests is right, tcIds are unique, every flag used is registered in `notes` with the
     registry's text, and every registered flag is used;
  4. every request is re-run through `mpksa.ops.handle`: outputs equal, or the same error code;
     a transcript's steps are numbered, end at their first failure, and run by the right actor;
  5. every intermediate is recomputed: the derived ones with `vectors.intermediates`, the
     context ones independently (plaintext sums from the clients' values, the E1 formula for the
     paper's Dec, Sybil and forged keys from their exponents), errata by calling `mpksa.findings` again;
     a re-run transcript (`rerun_of`) has its aborted round's keys and none of its randomness;
  6. manifest.json lists every vector file with its SHA-256, size and test count, and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import gmpy2
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from mpksa import ops
from mpksa.errors import MpksaError
from mpksa.params import PARAMETER_SET_NAMES, parameter_set
from mpksa.wire import untrusted
from mpksa.wire.codec import Codec, Json
from mpksa.wire.contract import SERVER_OPERATIONS, encoding_from_json, params_from_json, params_to_json
from mpksa.wire.untrusted import strict_json

from . import files, intermediates
from .builder import MANIFEST_SCHEMA, canonical_json
from .flags import FLAGS

SKIPPED = {"manifest.json"}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    files: int = 0
    tests: int = 0
    requests: int = 0

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    @property
    def ok(self) -> bool:
        return not self.problems


def shipped_root() -> Traversable:
    """The vectors shipped as package data of `mpksa.vectors` (importlib.resources)."""
    return files()


def _vector_files(node: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(node.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name not in ("schema", "__pycache__") and not entry.name.startswith("."):
                yield from _vector_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".json") and not (prefix == "" and entry.name in SKIPPED):
            yield f"{prefix}{entry.name}", entry


def load_schemas(root: Traversable, report: Report) -> dict[str, Draft202012Validator]:
    validators = {}
    folder = root.joinpath("schema")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name) if folder.is_dir() else []:
        if not entry.name.endswith(".schema.json"):
            continue
        try:
            schema = strict_json(entry.read_bytes())
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError, SchemaError) as exc:
            report.add(f"schema/{entry.name}", f"not a valid Draft 2020-12 schema: {untrusted.text(exc, 300)}")
            continue
        validators[entry.name] = Draft202012Validator(schema)
    if not validators:
        report.add("schema/", "no schema files found")
    return validators


def schema_errors(validator: Draft202012Validator, data: Any, limit: int = 5) -> list[str]:
    """The first few validation errors, each with the JSON path where it occurred."""
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:300]}" for e in errors[:limit]]


def verify(root: Traversable | Path | str | None = None, *, recompute: bool = True,
           only: Callable[[str], bool] | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Every check of the module docstring on the vectors under root (default: the shipped ones).

    `recompute` False skips re-running requests; `only` limits the per-file checks to the files
    whose relative path it accepts (the manifest is still checked against every file).
    """
    base: Traversable = shipped_root() if root is None else Path(root) if isinstance(root, str) else root
    report = Report()
    if not base.is_dir():
        report.add(str(base), "is not a folder of vectors")
        return report
    validators = load_schemas(base, report)
    found: dict[str, Json] = {}
    texts: dict[str, bytes] = {}
    for relative, entry in _vector_files(base):
        try:
            raw = entry.read_bytes()
        except OSError as exc:
            report.add(relative, f"cannot be read: {exc.strerror or exc}")
            continue
        texts[relative] = raw
        parsed, data = parse_file(relative, raw, report)
        if not parsed:
            continue
        found[relative] = data
        if only is not None and not only(relative):
            continue
        report.files += 1
        if progress:
            progress(relative)
        check_file(relative, raw, data, validators, report, recompute)
    check_manifest(base, texts, found, validators, report)
    return report


# -- one file -----------------------------------------------------------------------------------


def parse_file(relative: str, raw: bytes, report: Report) -> tuple[bool, Any]:
    """(True, the file's JSON), or (False, None) with the problem reported: not ASCII, or not strict JSON."""
    try:
        return True, strict_json(raw.decode("ascii"))
    except UnicodeDecodeError as exc:
        report.add(relative, f"not ASCII: byte {exc.start} is {raw[exc.start]:#04x}")
    except ValueError as exc:
        report.add(relative, f"not strict JSON: {untrusted.text(exc, 300)}")
    return False, None


def check_file(relative: str, raw: bytes, data: Any, validators: dict[str, Draft202012Validator], report: Report,
                recompute: bool) -> None:
    schema_name = data.get("schema") if isinstance(data, dict) else None
    validator = validators.get(schema_name) if isinstance(schema_name, str) else None
    if validator is None:
        report.add(relative, f"names no known schema ({schema_name!r})")
        return
    errors = schema_errors(validator, data)
    for error in errors:
        report.add(relative, f"schema {schema_name}: {error}")
    if errors:
        return
    if raw.decode("ascii") != canonical_json(data):
        report.add(relative, "not canonical JSON (sorted keys, indent 1, ASCII, trailing newline)")
    expected_path = f"{data['profile']}/{data['parameterSet']}/{data['family']}.json"
    if relative != expected_path:
        report.add(relative, f"profile/parameterSet/family say it belongs at {expected_path}")
    tests = [t for g in data["testGroups"] for t in g["tests"]]
    report.tests += len(tests)
    if data["numberOfTests"] != len(tests):
        report.add(relative, f"numberOfTests = {data['numberOfTests']} but there are {len(tests)} tests")
    _check_ids_and_flags(relative, data, tests, report)
    for g, group in enumerate(data["testGroups"]):
        where = f"{relative} testGroups[{g}]"
        if not _check_group(where, data, group, report):
            continue
        for test in group["tests"]:
            at = f"{relative} tcId {test['tcId']}"
            try:
                if "operations" in test:
                    _check_transcript(at, data["profile"], group, test, report, recompute)
                else:
                    _check_operation(at, data["profile"], group, test, report, recompute)
            except Exception as exc:  # a check that trips over a malformed test reports it, never stops verify
                report.add(at, f"could not be checked: {type(exc).__name__}: {untrusted.text(exc, 300)}")
    _check_reruns(relative, tests, report)


def _check_ids_and_flags(relative: str, data: Json, tests: list[Json], report: Report) -> None:
    ids = [t["tcId"] for t in tests]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        report.add(relative, f"tcIds {duplicates} are not unique")
    used = {f for t in tests for f in t["flags"]}
    registered = set(data["notes"])
    for flag in sorted(used - registered):
        report.add(relative, f"flag {flag} is used but not registered in notes")
    for flag in sorted(registered - used):
        report.add(relative, f"flag {flag} is registered in notes but no test uses it")
    for flag in sorted(registered & FLAGS.keys()):
        if data["notes"][flag] != FLAGS[flag].as_json():
            report.add(relative, f"notes[{flag}] differs from the flag registry (vectors/flags.py)")
    for flag in sorted(registered - FLAGS.keys()):
        report.add(relative, f"flag {flag} is not in the flag registry (vectors/flags.py)")


def _check_group(where: str, data: Json, group: Json, report: Report) -> bool:
    """The group's params parse, match the file's profile, and equal the named parameter set."""
    try:
        params = params_from_json(group["params"])
        encoding_from_json(group["encoding"])
    except MpksaError as exc:
        report.add(where, f"params or encoding do not parse: {exc}")
        return False
    if params.profile != data["profile"]:
        report.add(where, f"params profile {params.profile} differs from the file's {data['profile']}")
    toy = all("ToyGroup" in t["flags"] for t in group["tests"])
    if params.name in PARAMETER_SET_NAMES:
        if params_to_json(parameter_set(params.name)) != group["params"]:
            report.add(where, f"params named {params.name} differ from that parameter set")
        if params.name != data["parameterSet"] and not toy:
            report.add(where, f"params {params.name} in a file of parameter set {data['parameterSet']}")
    elif not toy:
        report.add(where, f"params {params.name!r} are not a parameter set and the tests are not flagged ToyGroup")
    return True


# -- operation tests ----------------------------------------------------------------------------


def _request(profile: str, group: Json, op: str, inputs: Json) -> Json:
    return {"op": op, "profile": profile, "params": group["params"], "encoding": group["encoding"], "inputs": inputs}


def _compare(at: str, expected: Json, answer: Json, report: Report) -> bool:
    """The answer matches `outputs` or `error` (a code) of the vector; True when it does."""
    if "error" in expected:
        got = answer.get("error", {}).get("code") if "error" in answer else None
        if got != expected["error"]:
            report.add(at, f"expected error {expected['error']}, the reference answers "
                       f"{'error ' + got if got else 'with outputs'}")
            return False
        return True
    if "error" in answer:
        report.add(at, f"expected outputs, the reference answers error {answer['error']['code']}: "
                   f"{answer['error']['message']}")
        return False
    if answer["outputs"] != expected["outputs"]:
        keys = sorted(k for k in set(answer["outputs"]) | set(expected["outputs"])
                      if answer["outputs"].get(k) != expected["outputs"].get(k))
        report.add(at, f"outputs differ from the reference in {keys}")
        return False
    return True


def _check_operation(at: str, profile: str, group: Json, test: Json, report: Report, recompute: bool) -> None:
    if test["result"] == "invalid" and "error" not in test:
        report.add(at, "an invalid test must name its error code")
    if not recompute:
        return
    report.requests += 1
    answer = ops.handle(_request(profile, group, test["op"], test["inputs"]))
    if not _compare(at, test, answer, report):
        return
    _check_intermediates(at, profile, group, test, report)


def _check_intermediates(at: str, profile: str, group: Json, test: Json, report: Report) -> None:
    params = params_from_json(group["params"])
    encoding = encoding_from_json(group["encoding"])
    stored: Json = test.get("intermediates", {})
    derived = intermediates.compute(params, encoding, test["op"], test["inputs"], test.get("outputs"))
    for key, value in derived.items():
        if stored.get(key) != value:
            report.add(at, f"intermediate {key} differs from its recomputation")
    for key in sorted(set(stored) - set(derived)):
        check = CONTEXT_CHECKS.get(key)
        if check is None:
            report.add(at, f"intermediate {key} is neither derived from the inputs nor a known context value")
            continue
        problem = check(params, encoding, profile, group, test)
        if problem:
            report.add(at, f"intermediate {key}: {problem}")


# Context intermediates: values the inputs alone do not determine, each checked its own way.


def _lambda(x: int, p: int) -> int:
    """lambda(x) = L(x^(p-1) mod p^2) / (p-1) mod p: the public <1+p> exponent of x (review, notation)."""
    p2 = p * p
    return ((int(gmpy2.powmod(x, p - 1, p2)) - 1) // p) * int(gmpy2.invert(p - 1, p)) % p


def _check_plaintext_sums(params, encoding, profile, group, test) -> str | None:
    """v1: Dec returns exactly the plaintext sums. paper: it returns what E1's formula predicts."""
    codec = Codec(params)
    plain = [codec.message_in(m, "plaintext_sums") for m in test["intermediates"]["plaintext_sums"]]
    got = [codec.message_in(m, "sums") for m in test.get("outputs", {}).get("sums", [])]
    if params.profile != "paper":
        return None if got == plain else "Dec does not return the plaintext sums"
    if "r1_sum" not in test["intermediates"]:
        return "a paper Dec test needs r1_sum to state E1's prediction"
    p, r = params.p, int(test["intermediates"]["r1_sum"], 16)
    alphas = [codec.exponent_in(a, "alphas") for a in test["inputs"]["alphas"]]
    d, t = (codec.element_in(test["inputs"][k][0], k) for k in ("d", "t"))
    h = d * int(gmpy2.invert(t, p)) % p
    predicted = [(m + r * _lambda(int(gmpy2.powmod(params.g, a, p)), p) - a * _lambda(h, p)) % p
                 for m, a in zip(plain, alphas)]
    if got != predicted:
        return "the paper's Dec does not return M + R*lambda(beta) - alpha*lambda(d/T) (E1)"
    if (got == plain) == ("PaperDecryptionIncorrect" in test["flags"]):
        return "flag PaperDecryptionIncorrect must be set exactly when the sums are wrong"
    return None


def _check_r1_sum(params, encoding, profile, group, test) -> str | None:
    return None if "plaintext_sums" in test["intermediates"] else "r1_sum without plaintext_sums"


def _check_clients(params, encoding, profile, group, test) -> str | None:
    """Decode of the clients' encoded values: sums re-encoded through ops, weighted sums computed directly."""
    mids = test["intermediates"]
    quantized, weights = mids.get("clients_quantized"), mids.get("clients_weights")
    if quantized is None or weights is None or len(quantized) != len(weights):
        return "clients_quantized and clients_weights must come together, one entry per client"
    modulus = params.message_modulus
    codec = Codec(params)
    columns = None
    for q, w in zip(quantized, weights):
        answer = ops.handle(_request(profile, group, "Encode", {"quantized": q, "weight": w}))
        if "error" in answer:
            return f"a client's values do not encode: {answer['error']['code']}"
        segs = [codec.message_in(m, "segments") for m in answer["outputs"]["segments"]]
        columns = segs if columns is None else [(a + b) % modulus for a, b in zip(columns, segs)]
    if [codec.message(m) for m in columns or []] != test["inputs"]["sums"]:
        return "the Decode input is not the sum of the clients' encoded segments"
    if "outputs" not in test:
        return None
    direct = [sum(w * q[t] for q, w in zip(quantized, weights)) for t in range(test["inputs"]["dim"])]
    right = test["outputs"] == {"weighted_sums": direct, "weight_sum": sum(weights)}
    if right == ("NegativeDecodeWrong" in test["flags"]):
        return "Decode must return the plaintext sums, unless flagged NegativeDecodeWrong (then it must not)"
    return None


def _check_packed(params, encoding, profile, group, test) -> str | None:
    values = test["intermediates"]["packed_values"]
    a = [int(x, 16) for x in test["inputs"]["a"]]
    total = Codec(params).message_in(test["inputs"]["total"], "total")
    if sum(x * y for x, y in zip(a, values)) != total:
        return "total is not sum a_i * packed_values_i"
    return None if test.get("outputs", {}).get("values") == values else "Recover does not return the packed values"


def _pk_of(params, codec, exponent_hex: str) -> str:
    return codec.element(int(gmpy2.powmod(params.g, codec.exponent_in(exponent_hex, "x"), params.group_modulus)))


def _check_sybil(params, encoding, profile, group, test) -> str | None:
    codec = Codec(params)
    pk = _pk_of(params, codec, test["intermediates"]["sybil_sk"])
    keys = [e["pk"] for e in test["inputs"].get("public_keys", [])] + test["inputs"].get("announced", [])
    return None if pk in keys else "g^sybil_sk is not among the keys of S"


def _check_forger(params, encoding, profile, group, test) -> str | None:
    codec = Codec(params)
    g_x = codec.element_in(_pk_of(params, codec, test["intermediates"]["forger_x"]), "g^x")
    pk_i = codec.element_in(test["inputs"]["pk_i"], "pk_i")
    forged = codec.element(pk_i * g_x % params.group_modulus)
    return None if forged == test["inputs"]["pk_s"] else "pk_S is not pk_i * g^forger_x"


def _check_finding(params, encoding, profile, group, test) -> str | None:
    from .errata import recheck

    return recheck(test, group["params"])


CONTEXT_CHECKS: dict[str, Callable[..., str | None]] = {
    "plaintext_sums": _check_plaintext_sums,
    "r1_sum": _check_r1_sum,
    "clients_quantized": _check_clients,
    "clients_weights": lambda *args: None,  # checked with clients_quantized
    "packed_values": _check_packed,
    "sybil_sk": _check_sybil,
    "forger_x": _check_forger,
    "finding": _check_finding,
}


# -- transcripts --------------------------------------------------------------------------------


def _check_transcript(at: str, profile: str, group: Json, test: Json, report: Report, recompute: bool) -> None:
    steps = test["operations"]
    if [s["step"] for s in steps] != list(range(1, len(steps) + 1)):
        report.add(at, "steps must be numbered 1, 2, ... in order")
    failures = [s["step"] for s in steps if not s["success"]]
    if failures and failures != [steps[-1]["step"]]:
        report.add(at, f"only the last step may fail (steps {failures} fail; later steps are never run)")
    if (test["result"] == "valid") != (not failures):
        report.add(at, f"result {test['result']} but {len(failures)} failing step(s)")
    for s in steps:
        role = "server" if s["op"] in SERVER_OPERATIONS else "client"
        if not s["actor"].startswith(role):
            report.add(at, f"step {s['step']}: {s['op']} is run by the {role}, not {s['actor']}")
    abort = test.get("abort")
    if abort is not None and (not failures or abort["step"] != steps[-1]["step"]):
        report.add(at, "the abort marker must name the failing last step")
    if abort is None and "DropoutAfterUpload" in test["flags"]:
        report.add(at, "a dropout after upload needs its abort marker")
    if recompute:
        for s in steps:
            report.requests += 1
            if not _compare(f"{at} step {s['step']} ({s['op']})", s,
                            ops.handle(_request(profile, group, s["op"], s["inputs"])), report):
                return
    _check_round_summary(at, profile, test, report)


def _check_round_summary(at: str, profile: str, test: Json, report: Report) -> None:
    """Who took part, and (for a finished round) the decoded sums against the plaintext sums."""
    from .transcripts import plaintext_sums

    mids, steps = test.get("intermediates", {}), test["operations"]
    registered = [int(s["actor"].split(":")[1]) for s in steps if s["op"] == "KeyGen"]
    online = next(([e["id"] for e in s["inputs"]["public_keys"]] for s in steps if s["op"] == "AggPKGen"), [])
    if mids.get("registered") != registered or mids.get("online") != online:
        report.add(at, "registered/online differ from the KeyGen and AggPKGen steps")
    if mids.get("dropped_before_s") != [i for i in registered if i not in online]:
        report.add(at, "dropped_before_s is not registered minus online")
    answered = [int(s["actor"].split(":")[1]) for s in steps if s["op"] == "ResGen"]
    if answered and mids.get("dropped_after_upload") != [i for i in online if i not in answered]:
        report.add(at, "dropped_after_upload is not S minus the clients that answered ResGen")
    sums = plaintext_sums(test)
    if sums is not None and (mids.get("plaintext_weighted_sums"), mids.get("plaintext_weight_sum")) != sums:
        report.add(at, "plaintext sums differ from the Quantize outputs times the Encode weights")
    decode = steps[-1] if steps[-1]["op"] == "Decode" and steps[-1]["success"] else None
    if decode is None or sums is None:
        return
    right = (decode["outputs"]["weighted_sums"], decode["outputs"]["weight_sum"]) == sums
    if profile != "paper" and not right:
        report.add(at, "the decoded sums differ from the plaintext sums")
    if profile == "paper" and right == ("PaperDecryptionIncorrect" in test["flags"]):
        report.add(at, "flag PaperDecryptionIncorrect must be set exactly when the decoded sums are wrong")


def _inputs_of(test: Json, op: str, field_: str) -> list[Any]:
    """The `field_` input of every `op` step of a transcript, in order (missing fields left out)."""
    return [s["inputs"][field_] for s in test["operations"] if s["op"] == op and field_ in s["inputs"]]


def _randomness(test: Json) -> list[str]:
    """Every Enc random value of a transcript as hex text: the v2 mask r, then the r1 and r2 values."""
    return (_inputs_of(test, "Enc", "r") + [r for rs in _inputs_of(test, "Enc", "r1") for r in rs]
            + [r for rs in _inputs_of(test, "Enc", "r2") for r in rs])


def _check_reruns(relative: str, tests: list[Json], report: Report) -> None:
    """A re-run (spec 10.7) keeps the aborted round's keys, and takes a new round number, fresh
    updates and fresh randomness: no Enc random value of the aborted round appears again."""
    by_id = {t["tcId"]: t for t in tests}
    for test in tests:
        rerun_of = test.get("intermediates", {}).get("rerun_of")
        if rerun_of is None:
            continue
        at = f"{relative} tcId {test['tcId']}"
        aborted = by_id.get(rerun_of)
        if aborted is None or "abort" not in aborted:
            report.add(at, f"rerun_of = {rerun_of} names no aborted transcript of this file")
            continue
        if (_inputs_of(test, "SysGen", "alphas"), _inputs_of(test, "KeyGen", "sk")) != (
                _inputs_of(aborted, "SysGen", "alphas"), _inputs_of(aborted, "KeyGen", "sk")):
            report.add(at, "a re-run must keep the aborted round's server and client keys")
        if set(_inputs_of(test, "SE", "round")) & set(_inputs_of(aborted, "SE", "round")):
            report.add(at, "a re-run must take a new round number")
        earlier = _inputs_of(aborted, "Quantize", "values")
        if any(values in earlier for values in _inputs_of(test, "Quantize", "values")):
            report.add(at, "a re-run must answer with fresh updates (E7)")
        reused = set(_randomness(test)) & set(_randomness(aborted))
        masks = _inputs_of(test, "Enc", "r")
        if reused or len(set(masks)) != len(masks):
            report.add(at, "a re-run reuses randomness of the aborted round, or two clients share a mask exponent")


# -- manifest -----------------------------------------------------------------------------------


def check_manifest(base: Traversable, texts: dict[str, bytes], found: dict[str, Json],
                    validators: dict[str, Draft202012Validator], report: Report) -> None:
    entry = base.joinpath("manifest.json")
    if not entry.is_file():
        report.add("manifest.json", "missing")
        return
    try:
        manifest = strict_json(entry.read_bytes().decode("ascii"))
    except (OSError, ValueError) as exc:
        report.add("manifest.json", f"not strict ASCII JSON: {untrusted.text(exc, 300)}")
        return
    validator = validators.get(MANIFEST_SCHEMA)
    if validator is not None:
        for error in schema_errors(validator, manifest):
            report.add("manifest.json", f"schema {MANIFEST_SCHEMA}: {error}")
    listed = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    if not isinstance(listed, dict):
        report.add("manifest.json", "files must be an object")
        return
    for relative in sorted(set(texts) - set(listed)):
        report.add("manifest.json", f"does not list {relative}")
    for relative, item in sorted(listed.items()):
        if relative not in texts:
            report.add("manifest.json", f"lists {relative}, which is missing")
            continue
        raw = texts[relative]
        if not isinstance(item, dict) or item.get("sha256") != hashlib.sha256(raw).hexdigest():
            report.add("manifest.json", f"SHA-256 of {relative} differs (file changed after generation?)")
        elif item.get("bytes") != len(raw):
            report.add("manifest.json", f"size of {relative} differs")
        elif isinstance(found.get(relative), dict) and item.get("numberOfTests") != found[relative].get("numberOfTests"):
            report.add("manifest.json", f"numberOfTests of {relative} differs")
