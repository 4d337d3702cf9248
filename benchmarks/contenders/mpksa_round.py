"""MPKSA itself: `v1` and `v2` through the fast implementation, `paper` through the reference.

One round of Algorithm 1, read top to bottom, with each step charged to the party that does it:
the server seals the model (SE) and fixes pk_S; each client checks pk_S, unseals the model (DSE),
quantizes, packs and encrypts (Enc); the server challenges (ChelGen); each client responds
(ResGen); the server aggregates (Agg), decrypts (Dec) and decodes. Group elements travel as
fixed-length big-endian integers (the wire contract's integers, as bytes rather than hex).

Every client has its own key and only the server's alpha removes the masks, and only from the sum
(`v1`, review part C; `v2`, spec chapter 10, with one mask exponent per client and round and the
carrier segment); `paper` is the printed scheme, broken (E1: a wrong sum; E2 to E7).

The fast implementation has two engines (`mpksa.fast.FastV1`): constant time, its default, and
variable time (fixed-base tables, combs over stored powers), opt-in. `MpksaV1(variable_time=...)`
and `MpksaV2(...)` take either; `peers.py` measures the variable-time one, like the peers'
fixed-base tables, and `bench_v2.py` measures both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mpksa import agg, aggpkgen, chelgen, encoding, fast, keygen, resgen, se
from mpksa.encoding import Encoding
from mpksa.fast import worker_cpu_seconds
from mpksa.messages import Ciphertext
from mpksa.params import parameter_set
from mpksa.profiles import PAPER
from mpksa.randomness import SYSTEM_RANDOM, exponent

from . import Exponentiations, Meter, Outcome, Workload, parse_elements, serialize_elements

V1_PARAMETER_SET = "v1-rsa2048-short"
V2_PARAMETER_SET = "v2-rsa2048"
PAPER_PARAMETER_SET = "paper-512"
MPKSA_TRUST = ("a key per client, no shared secret: an honest-but-curious server, even with up to |S| - 2 colluding "
               "clients, learns only the sum")


def element_bytes(modulus: int) -> int:
    return ((modulus - 1).bit_length() + 7) // 8


def engine_note(variable_time: bool) -> str:
    return ("the variable-time engine (opt-in: fixed-base tables and combs indexed by secret digits)" if variable_time
            else "the constant-time engine (the default: gmpy2.powmod_sec for every secret exponent)")


class MpksaV1:
    name = "mpksa-v1"
    trust = MPKSA_TRUST
    parameter_set = V1_PARAMETER_SET
    slice_full = None
    slice_quick = None
    extra_cpu: Callable[[], float] = staticmethod(worker_cpu_seconds)

    def __init__(self, variable_time: bool = True) -> None:
        self.variable_time = variable_time
        self.notes = (f"{V1_PARAMETER_SET} (Z*_(n^2), n = RSA-2048, 256-bit exponents), the fast implementation with "
                      f"its process pool over all cores (CPU of the workers included), {engine_note(variable_time)}; "
                      "fixed-base tables for g, beta and pk_S (variable time) built at setup (steady state: same S "
                      "every round); the sealed model (float32) counts as download")

    def unavailable(self) -> str | None:
        return None

    def setup(self, workload: Workload) -> None:
        params = parameter_set(self.parameter_set)
        self.engine = fast.for_parameter_set(self.parameter_set, clients_hint=workload.clients,
                                             variable_time=self.variable_time)
        self.enc = Encoding(workload.frac_bits, workload.clip, 1, workload.clients)
        self.bits = params.modulus_bits
        self.nbytes = element_bytes(params.n2)
        self.alpha = exponent(params.exponent_bound, SYSTEM_RANDOM)
        self.beta = self.engine.sys_gen(self.alpha)
        self.sks = [exponent(params.exponent_bound, SYSTEM_RANDOM) for _ in range(workload.clients)]
        self.pks = [self.engine.key_gen(sk) for sk in self.sks]
        self.prepare(workload)
        # Warm-up: one client's Enc starts the pool and builds the g, beta and pk_S tables in every worker.
        pk_s = self.engine.agg_pk_gen(list(enumerate(self.pks)))
        x = workload.updates()[0]
        self.engine.enc(self.beta, pk_s, fast.encode(fast.quantize(x, self.enc), 1, self.enc, self.bits))

    def prepare(self, workload: Workload) -> None:
        """One-time work that a deployment does once, not every round: none for v1."""

    def units(self, parameters: int) -> int:
        return self.enc.segment_count(parameters, self.bits)

    def flatten(self, c: Ciphertext) -> list[int]:
        """The upload's elements: E_ij1, g^r2, g^r1 pk_S^r2 segment after segment."""
        return [v for e1, (a, b) in zip(c.e1, c.e2) for v in (e1, a, b)]

    def unflatten(self, flat: list[int]) -> Ciphertext:
        return Ciphertext(tuple(flat[0::3]), tuple(zip(flat[1::3], flat[2::3])))

    def dec(self, aggregate: object, clients: int) -> list[int]:
        return self.engine.dec(self.alpha, aggregate)

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        engine, nbytes, clients = self.engine, self.nbytes, len(updates)
        model = np.zeros(len(updates[0]), dtype=np.float32).tobytes()  # W, the current model
        with meter.server("AggPKGen"):
            pk_s = engine.agg_pk_gen(list(enumerate(self.pks)))
            pk_s_bytes = serialize_elements([pk_s], nbytes)
        with meter.server("SE"):
            sealed = [engine.seal(self.pks[i], self.alpha, model, 0, i) for i in range(clients)]
        ciphertexts = []
        for i, x in enumerate(updates):
            meter.download(i, [pk_s_bytes, sealed[i]])
            with meter.client(i, "unseal"):
                engine.check_pk_s(pk_s, self.pks[i])
                engine.unseal(self.beta, self.sks[i], sealed[i], 0, i)
            with meter.client(i, "encode"):
                segments = fast.encode(fast.quantize(x, self.enc), 1, self.enc, self.bits)
            with meter.client(i, "encrypt"):
                c = engine.enc(self.beta, pk_s, segments)
            with meter.client(i, "serialize"):
                ciphertexts.append(meter.upload(i, serialize_elements(self.flatten(c), nbytes)))
        with meter.server("ChelGen"):
            received = [self.unflatten(parse_elements(blob, nbytes)) for blob in ciphertexts]
            challenge = serialize_elements(engine.chel_gen(received), nbytes)
        responses = []
        for i in range(clients):
            meter.download(i, challenge)
            with meter.client(i, "respond"):
                t = engine.res_gen(parse_elements(challenge, nbytes), self.sks[i])
                responses.append(meter.upload(i, serialize_elements(t, nbytes)))
        with meter.server("Agg"):
            aggregate = engine.agg(received, [parse_elements(blob, nbytes) for blob in responses])
        with meter.server("Dec"):
            sums = self.dec(aggregate, clients)
        with meter.server("decode"):
            weighted, weight_sum = fast.decode(sums, self.enc, clients, len(updates[0]), self.bits)
            decoded = np.ldexp(weighted.astype(np.float64), -self.enc.frac_bits)
        expected = sum(fast.quantize(x, self.enc) for x in updates)
        return Outcome(decoded, bool(np.array_equal(weighted, expected) and weight_sum == clients))

    def exponentiations(self) -> list[Exponentiations]:
        bits, modulus_bits = self.engine.params.exponent_bits, 2 * self.bits
        return [Exponentiations("client", "Enc: beta^r1, g^r2, g^r1, pk_S^r2", 4, bits, modulus_bits, fixed_base=True),
                Exponentiations("client", "ResGen: R_j^sk_i", 1, bits, modulus_bits),
                Exponentiations("server", "Dec: (T_j d_j^-1)^alpha", 1, bits, modulus_bits)]


class MpksaV2(MpksaV1):
    """Profile v2 (spec chapter 10): one element per segment under hashed bases h_j, plus the carrier."""

    name = "mpksa-v2"
    parameter_set = V2_PARAMETER_SET

    def __init__(self, variable_time: bool = True) -> None:
        super().__init__(variable_time)
        self.notes = (f"{V2_PARAMETER_SET} (n = RSA-2048, 256-bit alpha, sk and carrier exponents, 288-bit mask "
                      f"exponents), the fast implementation with its process pool, {engine_note(variable_time)}; "
                      "segment bases h_j (and, variable time, their four stored powers) derived or loaded at setup "
                      "(the one-time cost, in setup_cpu_s; bench_v2.py reports it)")

    def prepare(self, workload: Workload) -> None:
        """The segment bases for this size: derived once (or loaded from the cache), not every round."""
        self.engine.prepare(self.units(workload.parameters))

    def flatten(self, c: Ciphertext) -> list[int]:
        """The upload's elements: E_i01 (the carrier), C_i1..C_iu, then the carrier's pair."""
        return [*c.e1, *c.e2[0]]

    def unflatten(self, flat: list[int]) -> Ciphertext:
        return Ciphertext(tuple(flat[:-2]), ((flat[-2], flat[-1]),))

    def dec(self, aggregate: object, clients: int) -> list[int]:
        return self.engine.dec(self.alpha, aggregate, clients)

    def exponentiations(self) -> list[Exponentiations]:
        params, modulus_bits = self.engine.params, 2 * self.bits
        return [Exponentiations("client", "Enc: h_j^r_i", 1, params.mask_bits, modulus_bits),
                Exponentiations("server", "Dec: h_j^-R", 1, params.mask_bits + 4, modulus_bits)]


class MpksaV1ConstantTime(MpksaV1):
    """v1 on the fast implementation's default engine (constant time); sliced at 100k above that size."""

    name = "mpksa-v1-ct"
    slice_full = 100_000

    def __init__(self) -> None:
        super().__init__(variable_time=False)


class MpksaV2ConstantTime(MpksaV2):
    """v2 on the fast implementation's default engine (constant time); sliced at 100k above that size."""

    name = "mpksa-v2-ct"
    slice_full = 100_000

    def __init__(self) -> None:
        super().__init__(variable_time=False)


class MpksaPaper:
    name = "mpksa-paper"
    trust = "as printed (Yang et al.): broken, a wrong sum (E1) and recoverable updates (E2 to E5); never use it"
    notes = (f"{PAPER_PARAMETER_SET} (512-bit p, insecure), the readable reference (pure Python lists, one process), "
             "for reference only")
    slice_full = 100_000
    slice_quick = None

    def unavailable(self) -> str | None:
        return None

    def setup(self, workload: Workload) -> None:
        self.params = params = parameter_set(PAPER_PARAMETER_SET)
        self.enc = workload.encoding
        self.server_key = PAPER.sys_gen(params, self.units(workload.parameters), SYSTEM_RANDOM)
        self.keys = [keygen.key_gen(params) for _ in range(workload.clients)]
        self.small, self.big = element_bytes(params.p), element_bytes(params.p2)

    def units(self, parameters: int) -> int:
        return self.enc.segment_count(parameters, self.params.modulus_bits)

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        params, key, small, big, clients = self.params, self.server_key, self.small, self.big, len(updates)
        model = np.zeros(len(updates[0]), dtype=np.float32).tobytes()
        with meter.server("AggPKGen"):
            pk_s = aggpkgen.agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(self.keys)])
            pk_s_bytes = serialize_elements([pk_s], small)
        with meter.server("SE"):
            sealed = [se.se(params, kp.pk, key.alphas[0], model, 0, i) for i, kp in enumerate(self.keys)]
        uploads, quantized = [], []
        for i, x in enumerate(updates):
            meter.download(i, [pk_s_bytes, sealed[i]])
            with meter.client(i, "unseal"):
                aggpkgen.check_pk_s(params, pk_s, self.keys[i].pk)
                se.dse(params, key.betas[0], self.keys[i].sk, sealed[i], 0, i)
            with meter.client(i, "encode"):
                quantized.append(encoding.quantize(x.tolist(), self.enc))
                hats = PAPER.encode(quantized[-1], 1, self.enc, params)
            with meter.client(i, "encrypt"):
                c = PAPER.enc(params, key, pk_s, hats, SYSTEM_RANDOM)
            with meter.client(i, "serialize"):
                uploads.append(meter.upload(i, [serialize_elements(c.e1, big), serialize_elements(c.e2[0], small)]))
        with meter.server("ChelGen"):
            received = [(parse_elements(e1, big), tuple(parse_elements(e2, small))) for e1, e2 in uploads]
            cts = [Ciphertext(tuple(e1), (e2,)) for e1, e2 in received]
            challenge = serialize_elements(chelgen.chel_gen(params, cts), small)
        responses = []
        for i in range(clients):
            meter.download(i, challenge)
            with meter.client(i, "respond"):
                t = resgen.res_gen(params, parse_elements(challenge, small), self.keys[i].sk)
                responses.append(meter.upload(i, serialize_elements(t, small)))
        with meter.server("Agg"):
            aggregate = agg.agg(params, cts, [parse_elements(blob, small) for blob in responses])
        with meter.server("Dec"):
            sums = PAPER.dec(params, key, aggregate, clients)
        with meter.server("decode"):
            weighted, weight_sum = PAPER.decode(sums, self.enc, clients, len(updates[0]), params)
            decoded = np.ldexp(np.array(weighted, dtype=np.float64), -self.enc.frac_bits)
        expected = [sum(column) for column in zip(*quantized)]
        return Outcome(decoded, weighted == expected and weight_sum == clients)

    def exponentiations(self) -> list[Exponentiations]:
        return []
