"""Whole rounds as transcripts: Algorithm 1 walked through `mpksa.ops.handle`.

Every step is one operation request with explicit randomness, in protocol
order, with its actor (`server` or `client:<id>`), its outputs or error, and a
success flag. Randomness is drawn from one seeded stream in the order
`round.setup` and `round.run_round` draw it (SysGen alphas, KeyGen sks in id
order, SE nonces over S, then each client's Enc r1/r2), so replaying the
transcript's randomness into `run_round` reproduces the round exactly.

A client of S that drops out after upload cannot be an operation: the server
simply never gets its response. The transcript shows the first step that
cannot be done (Agg with one response missing fails with dimension-mismatch;
or, if the server drops that client's ciphertext too, Dec fails with
l-input-not-one-mod-n) and carries an `abort` marker with the protocol-level
outcome `round-aborted` (E7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mpksa.encoding import Encoding
from mpksa.messages import ServerKey
from mpksa.wire.codec import Codec, Json
from mpksa.params import Params
from mpksa.randomness import RandomSource, exponent

from .builder import INVALID, VALID, GeneratorError, run
from .world import encrypt, gradient, seeded, segment_count

MODEL = b"MPKSA global model W, round 1"


class _Stop(Exception):
    """A step failed as planned: the transcript ends there."""


@dataclass(frozen=True)
class RoundPlan:
    """One round to walk: who is registered, who is online, what they send, what must fail."""

    label: str
    comment: str
    flags: frozenset[str]
    registered: tuple[int, ...]
    online: tuple[int, ...]
    dim: int
    weights: dict[int, int] = field(default_factory=dict)
    updates: dict[int, list[float]] | None = None
    announce_keys: bool = False
    announce_challenge: bool = False
    dropped_after_upload: tuple[int, ...] = ()
    drop_ciphertext: bool = False
    failure: tuple[str, str] | None = None  # (op, code) of the step that must fail
    round_id: int = 1
    rerun_of: str | None = None  # label of an aborted round: same setup, then fresh updates and randomness


@dataclass
class _Walk:
    params: Params
    encoding: Encoding
    plan: RoundPlan
    rng: RandomSource
    setup_rng: RandomSource
    steps: list[Json] = field(default_factory=list)

    @property
    def codec(self) -> Codec:
        return Codec(self.params)

    def step(self, actor: str, op: str, inputs: Json) -> Json:
        failure = self.plan.failure
        expect = failure[1] if failure is not None and failure[0] == op else None
        answer = run(self.params, self.encoding, op, inputs, expect)
        entry: Json = {"step": len(self.steps) + 1, "actor": actor, "op": op, "inputs": inputs}
        if "error" in answer:
            entry.update(error=answer["error"]["code"], success=False)
            self.steps.append(entry)
            raise _Stop
        entry.update(outputs=answer["outputs"], success=True)
        self.steps.append(entry)
        return answer["outputs"]


def walk(params: Params, encoding: Encoding, plan: RoundPlan) -> Json:
    """The transcript test of one round (without tcId).

    One seeded stream per round; a re-run replays the aborted round's stream for its setup (SysGen,
    KeyGen), then draws everything else from its own."""
    stream = seeded(params.name, "transcripts", plan.label)
    setup_stream = seeded(params.name, "transcripts", plan.rerun_of) if plan.rerun_of else stream
    w = _Walk(params, encoding, plan, stream, setup_stream)
    state: Json = {}
    try:
        _run(w, state)
    except _Stop:
        pass
    failed = not w.steps[-1]["success"]
    if plan.failure is not None and not failed:
        raise GeneratorError(f"transcript {plan.label}: expected {plan.failure} but every step succeeded")
    test: Json = {"comment": plan.comment, "flags": sorted(plan.flags), "result": INVALID if failed else VALID,
                  "operations": w.steps, "intermediates": _summary(w, state)}
    if plan.dropped_after_upload:
        test["abort"] = {"code": "round-aborted", "step": w.steps[-1]["step"],
                         "dropped": sorted(plan.dropped_after_upload),
                         "reason": f"client(s) {sorted(plan.dropped_after_upload)} of S dropped out after upload; "
                                   f"step {w.steps[-1]['step']} ({w.steps[-1]['op']}) cannot be completed and the "
                                   "round must be re-run with fresh randomness (E7)"}
    return test


def _run(w: _Walk, state: Json) -> None:
    params, plan, c = w.params, w.plan, w.codec
    bound = params.exponent_bound
    u = segment_count(params, w.encoding, plan.dim) if params.profile == "paper" else 1
    alphas = [exponent(bound, w.setup_rng) for _ in range(u)]
    betas = w.step("server", "SysGen", {"alphas": [c.exponent(a) for a in alphas]})["betas"]
    sks, pks = {}, {}
    for i in plan.registered:
        sks[i] = exponent(bound, w.setup_rng)
        pks[i] = w.step(f"client:{i}", "KeyGen", {"sk": c.exponent(sks[i])})["pk"]
    s = plan.online
    pk_s = w.step("server", "AggPKGen", {"public_keys": [{"id": i, "pk": pks[i]} for i in s]})["pk_s"]
    sealed = {}
    for i in s:
        nonce = w.rng.token_bytes(12)
        sealed[i] = w.step("server", "SE", {"pk_i": pks[i], "alpha": c.exponent(alphas[0]), "model": MODEL.hex(),
                                            "round": plan.round_id, "client_id": i, "nonce": nonce.hex()})["sealed"]
    key = ServerKey(tuple(alphas), tuple(c.element_in(b, "beta") for b in betas))
    # The paper's packing cannot carry signed values (E6): its rounds use values in [0, 1] so that
    # the one error they show is E1.
    signed = params.profile != "paper"
    updates = plan.updates or {i: gradient(seeded(params.name, "transcripts", plan.label, f"update-{i}"), plan.dim,
                                           signed) for i in s}
    state["quantized"], state["weights"] = {}, {}
    cts, own = {}, {}
    for i in s:
        actor = f"client:{i}"
        check: Json = {"pk_s": pk_s, "pk_i": pks[i]}
        if plan.announce_keys:
            check["announced"] = [pks[k] for k in s]
        w.step(actor, "CheckPkS", check)
        w.step(actor, "DSE", {"beta": betas[0], "sk": c.exponent(sks[i]), "sealed": sealed[i],
                              "round": plan.round_id, "client_id": i})
        quantized = w.step(actor, "Quantize", {"values": updates[i]})["quantized"]
        weight = plan.weights.get(i, 1)
        state["quantized"][i], state["weights"][i] = quantized, weight
        segments = w.step(actor, "Encode", {"quantized": quantized, "weight": weight})["segments"]
        _, draws = encrypt(params, key, c.element_in(pk_s, "pk_s"), [c.message_in(m, "m") for m in segments],
                           w.rng)
        cts[i] = w.step(actor, "Enc", {"betas": betas, "pk_s": pk_s, "segments": segments,
                                       **draws.inputs(c)})["ciphertext"]
        own[i] = [pair[0] for pair in cts[i]["e2"]]
    challenge = w.step("server", "ChelGen", {"ciphertexts": [cts[i] for i in s]})["challenge"]
    answering = [i for i in s if i not in plan.dropped_after_upload]
    responses = {}
    for i in answering:
        if plan.announce_challenge:
            w.step(f"client:{i}", "CheckChallenge", {"challenge": challenge, "announced": [own[k] for k in s],
                                                     "own": own[i]})
        responses[i] = w.step(f"client:{i}", "ResGen", {"challenge": challenge, "sk": c.exponent(sks[i])})["response"]
    uploaders = answering if plan.drop_ciphertext else list(s)
    aggregate = w.step("server", "Agg", {"ciphertexts": [cts[i] for i in uploaders],
                                         "responses": [responses[i] for i in answering]})
    size = {"clients": len(s)} if params.profile == "v2" else {}
    sums = w.step("server", "Dec", {"alphas": [c.exponent(a) for a in alphas], **aggregate, **size})["sums"]
    w.step("server", "Decode", {"sums": sums, "clients": len(s), "dim": plan.dim})


def _summary(w: _Walk, state: Json) -> Json:
    """Who took part, and the plaintext sums computed directly from the quantized updates (Eq. (1))."""
    plan = w.plan
    out: Json = {"registered": list(plan.registered), "online": list(plan.online),
                 "dropped_before_s": [i for i in plan.registered if i not in plan.online],
                 "dropped_after_upload": sorted(plan.dropped_after_upload), "dim": plan.dim}
    quantized: dict[int, list[int]] = state.get("quantized", {})
    if quantized and len(quantized) == len(plan.online):
        out["plaintext_weighted_sums"] = [sum(state["weights"][i] * quantized[i][t] for i in plan.online)
                                          for t in range(plan.dim)]
        out["plaintext_weight_sum"] = sum(state["weights"][i] for i in plan.online)
    return out


def plans_for(params: Params, encoding: Encoding, lean: bool, rich: bool) -> list[tuple[Encoding, RoundPlan]]:
    """The rounds of one parameter set: whole rounds, dropouts, aborts, boundaries (spec ch. 8)."""
    corrected = params.profile != "paper"  # v1 and v2 share every plan below but the v2 re-run and the carrier
    v2 = params.profile == "v2"
    k = encoding.slots_per_segment(params.modulus_bits)
    whole = frozenset({"WholeRound"} | (set() if corrected else {"PaperDecryptionIncorrect"}))
    out: list[tuple[Encoding, RoundPlan]] = []

    def add(plan: RoundPlan, settings: Encoding = encoding) -> None:
        out.append((settings, plan))

    def ids(n: int) -> tuple[int, ...]:
        return tuple(range(1, n + 1))

    sizes = [2] if lean else list(range(2, 11)) if rich else [2, 3, 10] if corrected else [2, 3, 5]
    for size in sizes:
        note = "" if corrected else "; the printed Dec returns a wrong sum (E1), the intermediates hold the true one"
        add(RoundPlan(f"size-{size}", f"|S| = {size}, every registered client online{note}", whole, ids(size),
                      ids(size), 3 if lean else 4))
    if lean:
        add(RoundPlan("drop-after-upload", "client 2 drops out after upload: Agg lacks its response",
                      frozenset({"DropoutAfterUpload"}), ids(3), ids(3), 3, dropped_after_upload=(2,),
                      failure=("Agg", "dimension-mismatch")))
        return out
    add(RoundPlan("segments-short", f"dim = {k + 5}: two segments, the last one short", whole | {"MultiSegment",
                  "SegmentShortLast"}, ids(3), ids(3), k + 5))
    if rich or not corrected:
        add(RoundPlan("segments-full", f"dim = {2 * k - 1}: two full segments",
                      whole | {"MultiSegment", "SegmentFull"}, ids(2), ids(2), 2 * k - 1))
    add(RoundPlan("dropout-n-2", "N = 6 registered, S = {2, 5}: N - 2 = 4 dropped out before S was fixed",
                  whole | {"Dropout"}, ids(6), (2, 5), 4))
    if rich:
        add(RoundPlan("dropout-2", "N = 5 registered, S = {1, 3, 4}", whole | {"Dropout"}, ids(5), (1, 3, 4), 4))
    if corrected:
        add(RoundPlan("hardened", "announced keys and announced g^r2 checked by every client (review C.9)",
                      whole | {"Hardened"}, ids(3), ids(3), 4, announce_keys=True, announce_challenge=True))
        add(RoundPlan("single-client", f"|S| = 1: AggPKGen refuses it in {params.profile}", frozenset({"SingleClient",
                      "TooFewClients"}), ids(3), (2,), 4, failure=("AggPKGen", "too-few-clients")))
    else:
        add(RoundPlan("single-client", "|S| = 1: pk_S = pk_2, the client aborts before uploading",
                      frozenset({"SingleClient"}), ids(3), (2,), 4, failure=("CheckPkS", "single-client-abort")))
    add(RoundPlan("drop-after-upload", "client 2 of S drops out after upload: the server never gets its response, "
                  "Agg cannot run", frozenset({"DropoutAfterUpload"}), ids(4), ids(4), 4,
                  dropped_after_upload=(2,), failure=("Agg", "dimension-mismatch")))
    if v2:
        add(RoundPlan("rerun-after-abort", "the round that client 2 aborted, re-run for S = {1, 3, 4}: the same keys, "
                      "a new round number, fresh updates (E7) and fresh randomness, never the aborted round's "
                      "mask exponents (spec 10.7)", whole | {"FreshRerun"}, ids(4), (1, 3, 4), 4, round_id=2,
                      rerun_of="drop-after-upload"))
        add(RoundPlan("drop-after-upload-ciphertext", "client 3 drops out after upload and the server drops its "
                      "ciphertext too: the carriers' masks no longer cancel and Dec cannot recover the mask sum",
                      frozenset({"DropoutAfterUpload", "CarrierNotDecrypted"}), ids(4), ids(4), 4,
                      dropped_after_upload=(3,), drop_ciphertext=True, failure=("Dec", "carrier-decryption-failed")))
    elif corrected:
        add(RoundPlan("drop-after-upload-ciphertext", "client 3 drops out after upload and the server drops its "
                      "ciphertext too: the masks no longer cancel and Dec refuses the L input",
                      frozenset({"DropoutAfterUpload", "LInputNotOne"}), ids(4), ids(4), 4,
                      dropped_after_upload=(3,), drop_ciphertext=True, failure=("Dec", "l-input-not-one-mod-n")))
    if corrected:
        limit = replace(encoding, max_clients=3)
        top, bottom = float(limit.clip), -float(limit.clip)
        add(RoundPlan("slot-limit-high", "max_clients = 3, |S| = 3, every value +clip: slot sums at |S|*2V",
                      whole | {"SlotLimit"}, ids(3), ids(3), 4, updates={i: [top] * 4 for i in ids(3)}), limit)
        add(RoundPlan("slot-limit-low", "max_clients = 3, |S| = 3, every value -clip: value slots at 0",
                      whole | {"SlotLimit", "NegativeValues"}, ids(3), ids(3), 4,
                      updates={i: [bottom] * 4 for i in ids(3)}), limit)
        add(RoundPlan("slot-overflow", "max_clients = 3 but |S| = 4: Decode refuses the sums",
                      frozenset({"SlotOverflow", "WholeRound"}), ids(4), ids(4), 4,
                      updates={i: [top] * 4 for i in ids(4)}, failure=("Decode", "slot-overflow")), limit)
        if rich:
            weighted = replace(encoding, weight_max=4)
            add(RoundPlan("weighted", "weights |D_i| = 1, 3, 4 carried in the weight slot (Eq. (1))",
                          whole | {"Weighted"}, ids(3), ids(3), 4, weights={1: 1, 2: 3, 3: 4}), weighted)
            from .families import single_slot_encoding

            add(RoundPlan("single-slot", "an encoding with k = 1: one segment per value",
                          whole | {"SingleSlotSegment", "MultiSegment"}, ids(2), ids(2), 2),
                single_slot_encoding(params))
    return out


def plaintext_sums(test: Json) -> tuple[list[int], int] | None:
    """The plaintext weighted sums of a transcript, recomputed from its Quantize outputs and Encode weights."""
    quantized: dict[str, list[int]] = {}
    weights: dict[str, int] = {}
    for step in test["operations"]:
        if step["op"] == "Quantize" and step["success"]:
            quantized[step["actor"]] = step["outputs"]["quantized"]
        if step["op"] == "Encode" and step["success"]:
            weights[step["actor"]] = step["inputs"]["weight"]
    online = [f"client:{i}" for i in test["intermediates"]["online"]]
    if not online or any(a not in quantized or a not in weights for a in online):
        return None
    dim = len(quantized[online[0]])
    return ([sum(weights[a] * quantized[a][t] for a in online) for t in range(dim)],
            sum(weights[a] for a in online))


def replay_values(test: Json, codec: Codec) -> list[int | bytes]:
    """The transcript's randomness in the order setup + run_round draw it."""
    values: list[int | bytes] = []
    for step in test["operations"]:
        inputs = step["inputs"]
        if step["op"] == "SysGen":
            values += [codec.exponent_in(a, "alpha") for a in inputs["alphas"]]
        elif step["op"] == "KeyGen":
            values.append(codec.exponent_in(inputs["sk"], "sk"))
        elif step["op"] == "SE":
            values.append(bytes.fromhex(inputs["nonce"]))
        elif step["op"] == "Enc":
            if "r" in inputs:  # v2: the mask exponent first
                values.append(codec.mask_in(inputs["r"], "r"))
            for r1, r2 in zip(inputs["r1"], inputs["r2"]):
                values += [codec.exponent_in(r1, "r1"), codec.exponent_in(r2, "r2")]
    return values


def updates_of(test: Json) -> dict[int, Sequence[object]]:
    return {int(step["actor"].split(":")[1]): step["inputs"]["values"] for step in test["operations"]
            if step["op"] == "Quantize"}
