// Self-test of the JavaScript `v1` and `v2` implementation:  node --test javascript/test.mjs
//
// Expected values come from the specification's text (check values of chapter 3 and 10.2, the
// worked example of 4.10, the rounding examples of 4.2, the associated-data example of 6.2, the
// base counters of 10.3), from the shipped test vectors (made by the reference,
// vectors/v1/v1-test-512 and vectors/v2/v2-test-512, with their intermediates), and from plaintext
// sums computed here directly from the drawn inputs; never from this implementation's own outputs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as v1 from "./mpksa_v1.mjs";
import * as v2 from "./mpksa_v2.mjs";
import { handle, parseJson, toJson } from "./wire.mjs";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const VECTORS = here("../vectors/v1/v1-test-512/");
const VECTORS_V2 = here("../vectors/v2/v2-test-512/");
const hex = (x) => x.toString(16);

/** JSON text with sorted keys: compares values, not key order. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return toJson(typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value);
}

test("chapter 3 check values: n and g of every v1 set, re-derived from the seed or from n", () => {
  const table = {
    "v1-rsa2048-short": ["c7970ceedcc3b075", "399d48c6361cc7e5", 512, "6ca8c283c7ace508", "56b656203f268792", 1024],
    "v1-test-512": ["cca672736609674a", "8c43ad00d88296c3", 128, "65214bdd27ce0a53", "f61a9faa2f23e511", 256],
  };
  for (const [name, [nFirst, nLast, nDigits, gFirst, gLast, gDigits]] of Object.entries(table)) {
    const params = v1.parameterSet(name);
    const n = hex(params.n).padStart(nDigits, "0");
    const g = hex(params.g).padStart(gDigits, "0");
    assert.deepEqual([n.slice(0, 16), n.slice(-16), n.length], [nFirst, nLast, nDigits], `${name} n`);
    assert.deepEqual([g.slice(0, 16), g.slice(-16), g.length], [gFirst, gLast, gDigits], `${name} g`);
    v1.verifyParameters(params);
  }
  const [p, q] = v1.parameterSet("v1-test-512").factors;
  assert.equal(p, 103306558667909329155392874540014670508739073192948955466662690240471838201761n);
  assert.equal(q, 103753333527840076365340526925624914674732159661959991188141639435631067939811n);
  assert.equal(v1.parameterSet("v1-rsa2048-full").exponentBits, 2176);
});

test("spec 10.2 check values: h_1 and h_2 of both v2 sets; L, l and the rules of 3.6", () => {
  const table = {
    "v2-rsa2048": [288, 256, false, [["611d035818a1d02b", "a24af08906d6a339"], ["56630d52bf363b81", "9dd58d5b34742f64"]], 1024],
    "v2-test-512": [192, 128, true, [["4185706609f765af", "0fad11c9b4134324"], ["858c232c95a32e24", "11582e9d65f5490f"]], 256],
  };
  for (const [name, [maskBits, exponentBits, insecure, checks, digits]] of Object.entries(table)) {
    const params = v2.parameterSet(name);
    assert.deepEqual([params.profile, params.maskBits, params.exponentBits, params.insecure], ["v2", maskBits, exponentBits, insecure]);
    const bases = v2.segmentBases(params, 2).map((h) => hex(h).padStart(digits, "0"));
    assert.deepEqual(bases.map((h) => [h.slice(0, 16), h.slice(-16)]), checks, `${name} h_1, h_2`);
    v2.verifyParameters(params);
  }
  // Chapter 3.1: the v2 sets share n and g with v1-rsa2048-short and v1-test-512.
  assert.equal(v2.parameterSet("v2-test-512").g, v1.parameterSet("v1-test-512").g);
  const tooLong = v2.v2Params("toy", v1.parameterSet("v1-test-512").n, v1.parameterSet("v1-test-512").g, 128, 512 - 32, true);
  assert.throws(() => v2.verifyParameters(tooLong), { code: "invalid-parameters" });
  const { n, g } = v2.parameterSet("v2-rsa2048");
  assert.throws(() => v2.verifyParameters(v2.v2Params("short", n, g, 256, 287, false)), { code: "invalid-parameters" });
  assert.throws(() => v2.deriveSegmentBase(n, 0n), { code: "invalid-parameters" });
  assert.throws(() => v2.deriveSegmentBase(n, 1n << 32n), { code: "invalid-parameters" });
});

test("spec 10.3 retry rule on n = 15: the candidates x and counters of the spec's check values", () => {
  const candidates = (j, count) => Array.from({ length: count }, (_, c) => v2.baseCandidate(15n, j, BigInt(c)));
  // h_1: c = 0 and c = 9 give square roots of 1 (h = 1), c = 1 .. 8 share a factor with 15, c = 10 is taken.
  assert.deepEqual(candidates(1n, 11), [11n, 10n, 0n, 5n, 0n, 12n, 3n, 0n, 9n, 1n, 2n]);
  assert.equal(candidates(2n, 1)[0], 11n);
  const firstAccepted = (j) => candidates(j, 12).findIndex((x) => v1.gcd(x, 15n) === 1n && v1.modPow(x, 30n, 225n) !== 1n);
  assert.deepEqual([1n, 2n, 3n, 4n].map(firstAccepted), [10, 1, 2, 9]);
  for (const j of [1n, 2n, 3n, 4n]) assert.equal(v2.deriveSegmentBase(15n, j), 199n, `h_${j}`);
  // The spec's warning: skipping the h != 1 test gives 1, skipping the gcd test gives 10^30 = 100.
  assert.deepEqual([v1.modPow(11n, 30n, 225n), v1.modPow(10n, 30n, 225n)], [1n, 100n]);
});

test("spec 10.5: degenerate elements are refused in v2 only; v2 answers the carrier's challenge only", () => {
  const p1 = v1.parameterSet("v1-test-512");
  const p2 = v2.parameterSet("v2-test-512");
  const { n, n2 } = p2;
  for (const x of [1n + n, n2 - 1n, 1n + 5n * n, n - 1n]) {
    assert.equal(v1.checkPowerBase(p1, x, "x"), x); // v1 is unchanged (spec 10.5)
    assert.throws(() => v1.checkPowerBase(p2, x, "x"), { code: "degenerate-element" });
  }
  assert.throws(() => v1.checkPowerBase(p2, n, "x"), { code: "non-unit" });
  assert.throws(() => v1.resGen(p2, [1n + n], 5n), { code: "degenerate-element" });
  assert.throws(() => v1.resGen(p2, [p2.g, p2.g], 5n), { code: "dimension-mismatch" });
  assert.deepEqual(v1.resGen(p1, [p1.g, p1.g], 5n).length, 2);
  assert.throws(() => v1.aggPkGen(p2, [[1n, p2.g], [2n, n2 - 1n]]), { code: "degenerate-element" });
  // CheckPkS with announced keys computes their product with AggPKGen, and so refuses a degenerate one.
  assert.throws(() => v1.checkPkS(p2, (p2.g * (1n + n)) % n2, p2.g, [p2.g, 1n + n]), { code: "degenerate-element" });
});

test("spec 10.7: the mask guard refuses a second use of r_i and keeps digests only", () => {
  const params = v2.parameterSet("v2-test-512");
  const guard = new v2.MaskGuard(params);
  const r = (1n << 191n) + 12345n;
  guard.admit(r);
  guard.admit(r + 1n);
  assert.throws(() => guard.admit(r), { code: "exponent-reused" });
  assert.throws(() => guard.admit(0n), { code: "exponent-out-of-range" });
  assert.throws(() => guard.admit(params.maskBound), { code: "exponent-out-of-range" });
  const digest = createHash("sha256").update(Buffer.from(hex(r).padStart(48, "0"), "hex")).digest("hex");
  assert.ok(guard.used.has(digest));
  assert.ok(![...guard.used].some((entry) => entry.includes(hex(r))));
});

test("spec 6.4 and 10.8: v2 params objects, registered and unregistered", () => {
  const group = parseJson(readFileSync(`${VECTORS_V2}keys.json`, "utf8")).testGroups[0];
  const keyGen = (params) => handle({ op: "KeyGen", params, inputs: { sk: "00".repeat(15) + "01" } });
  assert.equal(keyGen(group.params).outputs.pk, hex(v2.parameterSet("v2-test-512").g).padStart(256, "0"));
  const refused = (change) => keyGen({ ...group.params, ...change }).error?.code;
  assert.equal(refused({ mask_bits: 128n }), "invalid-parameters"); // not the registered L
  assert.equal(refused({ profile: "v1" }), "invalid-parameters"); // a v2 name under v1
  assert.equal(refused({ mask_bits: 192 }), "invalid-parameters"); // a float, not an integer
  const { mask_bits: _l, ...noMask } = group.params;
  assert.equal(keyGen(noMask).error?.code, "invalid-parameters");
  // Unregistered: insecure, and 1 <= mask_bits < |n| - 32 = 480 for this 512-bit n.
  assert.equal(refused({ name: "toy", mask_bits: 479n }), undefined);
  assert.equal(refused({ name: "toy", mask_bits: 480n }), "invalid-parameters");
  assert.equal(refused({ name: "toy", mask_bits: 0n }), "invalid-parameters");
  assert.equal(refused({ name: "toy", insecure: false }), "invalid-parameters");
  assert.equal(keyGen({ ...group.params, name: "v1-test-512" }).error?.code, "invalid-parameters");
});

test("vectors v2/v2-test-512 intermediates: the bases h_j, the masks h_j^r, the mask sum R and the L inputs", () => {
  const params = v2.parameterSet("v2-test-512");
  const { n, n2 } = params;
  const big = (x) => BigInt("0x" + x);
  let encs = 0;
  for (const group of parseJson(readFileSync(`${VECTORS_V2}enc.json`, "utf8")).testGroups) {
    for (const t of group.tests.filter((t) => t.result === "valid")) {
      const { bases, h_r: masks } = t.intermediates;
      assert.deepEqual(v2.segmentBases(params, bases.length), bases.map(big), `enc#${t.tcId} bases`);
      assert.deepEqual(bases.map((h) => v1.modPow(big(h), big(t.inputs.r), n2)), masks.map(big), `enc#${t.tcId} h_r`);
      encs += 1;
    }
  }
  let decs = 0;
  for (const group of parseJson(readFileSync(`${VECTORS_V2}dec.json`, "utf8")).testGroups) {
    for (const t of group.tests.filter((t) => t.result === "valid")) {
      const [alpha] = t.inputs.alphas.map(big);
      const [eCarrier, ...eData] = t.inputs.e_agg.map(big);
      const [maskSum] = v1.decV1(params, [alpha], { eAgg: [eCarrier], d: t.inputs.d.map(big), t: t.inputs.t.map(big) });
      assert.equal(maskSum, big(t.intermediates.mask_sum), `dec#${t.tcId} mask_sum`);
      const bases = v2.segmentBases(params, eData.length);
      const lInputs = eData.map((e, j) => (e * v1.modPow(v1.modInverse(bases[j], n2), maskSum, n2)) % n2);
      assert.deepEqual(lInputs, t.intermediates.l_input.slice(1).map(big), `dec#${t.tcId} l_input`);
      assert.ok(lInputs.every((x) => x % n === 1n));
      decs += 1;
    }
  }
  assert.deepEqual([encs, decs], [6, 3]);
});

test("spec 4.2: round half to even, with f = 2", () => {
  const enc = new v1.Encoding(2, 1.0, 1n, 3n);
  assert.deepEqual(v1.quantize([0.375, 0.625, -0.375, 0.125, 2.5, -7], enc), [2n, 2n, -2n, 0n, 4n, -4n]);
  assert.throws(() => v1.quantize([1.5], enc, false), { code: "value-out-of-range" });
  assert.throws(() => v1.quantize([Number.NaN], enc), { code: "non-finite-value" });
});

test("spec 4.10: the worked example, two clients, one 512-bit segment", () => {
  const enc = new v1.Encoding(2, 1.0, 1n, 3n);
  assert.deepEqual([enc.qMax, enc.valueBound, enc.slotBits, enc.slotsPerSegment(512)], [4n, 4n, 5, 102]);
  const q1 = v1.quantize([0.3, -0.6, 1.7], enc);
  const q2 = v1.quantize([-1.0, 0.125, 0.5], enc);
  assert.deepEqual([q1, q2], [[1n, -2n, 4n], [-4n, 0n, 2n]]);
  const [m1] = v1.encodeV1(q1, 1n, enc, 512);
  const [m2] = v1.encodeV1(q2, 1n, enc, 512);
  assert.deepEqual([m1, m2], [172101n, 170112n]);
  assert.deepEqual(v1.recover(m1 + m2, v1.radixVector(enc, 4)), [5n, 6n, 14n, 10n]);
  assert.deepEqual(v1.decodeV1([m1 + m2], enc, 2n, 3, 512), { weightedSums: [-3n, -2n, 6n], weightSum: 2n });
});

test("spec 4.9: slot sums outside [0, |S| 2V] and weight sums outside [|S|, |S| w_max] are slot-overflow", () => {
  const enc = new v1.Encoding(16, 1.0, 2n, 10n); // V = 2 * 65536
  const V = 131072n;
  // dim = 0: the only slot is the weight slot, holding sum_i (w_i + V).
  assert.deepEqual(v1.decodeV1([2n * V + 3n], enc, 2n, 0, 512), { weightedSums: [], weightSum: 3n });
  assert.throws(() => v1.decodeV1([2n * V + 1n], enc, 2n, 0, 512), { code: "slot-overflow" }); // weight sum 1 < |S|
  assert.throws(() => v1.decodeV1([2n * V + 5n], enc, 2n, 0, 512), { code: "slot-overflow" }); // 5 > |S| w_max
  assert.throws(() => v1.decodeV1([4n * V + 1n], enc, 2n, 0, 512), { code: "slot-overflow" }); // above |S| 2V
  assert.throws(() => v1.decodeV1([0n], enc, 11n, 0, 512), { code: "slot-overflow" }); // |S| > N_max
  assert.throws(() => v1.decodeV1([0n, 0n], enc, 2n, 0, 512), { code: "dimension-mismatch" });
});

test("spec 5.13 and 5.8: hardened checks refuse repeated announced keys and short announced lists", () => {
  const params = v1.parameterSet("v1-test-512");
  const [pk1, pk2] = [3n, 5n].map((sk) => v1.modPow(params.g, sk, params.n2));
  const pkS = (pk1 * pk2) % params.n2;
  v1.checkPkS(params, pkS, pk1, [pk1, pk2]);
  assert.throws(() => v1.checkPkS(params, pk1, pk1, null), { code: "single-client-abort" });
  assert.throws(() => v1.checkPkS(params, (pk1 * pk1) % params.n2, pk1, [pk1, pk1]), { code: "aggregate-key-mismatch" });
  assert.throws(() => v1.checkPkS(params, pkS, pk1, [pk2, 7n]), { code: "aggregate-key-mismatch" });
  v1.checkChallenge(params, [pkS], [[pk1], [pk2]], [pk2]);
  assert.throws(() => v1.checkChallenge(params, [pkS, pkS], [[pk1], [pk2]], [pk2, pk2]), { code: "dimension-mismatch" });
  assert.throws(() => v1.checkChallenge(params, [pk1], [[pk1], [pk2]], [pk2]), { code: "challenge-mismatch" });
});

test("spec 6.2: the associated data for profile v1, round 7, client 3", () => {
  const ad = v1.associatedData({ profile: "v1" }, 7n, 3n);
  assert.equal(ad.toString("hex"), "4d504b53412d5345" + "7631" + "0000000000000007" + "00000003");
});

test("arithmetic: sliding-window modPow, modInverse, gcd, nextPrime", () => {
  const slowPow = (b, e, m) => {
    let r = 1n;
    for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
    return r;
  };
  const random = (bytes) => BigInt("0x" + randomBytes(bytes).toString("hex"));
  for (const [mBytes, eBytes] of [[8, 1], [64, 16], [128, 32], [128, 100], [512, 40]]) {
    const m = random(mBytes) | 1n;
    const b = random(mBytes);
    const e = random(eBytes);
    assert.equal(v1.modPow(b, e, m), slowPow(b, e, m));
    if (v1.gcd(b, m) === 1n) assert.equal((v1.modInverse(b, m) * b) % m, 1n % m);
  }
  assert.equal(v1.modPow(5n, 0n, 7n), 1n);
  assert.equal(v1.modPow(3n, -1n, 7n), 5n);
  assert.deepEqual([2n, 7n, 14n, 100n].map(v1.nextPrime), [3n, 11n, 17n, 101n]);
  assert.equal(v1.gcd(0n, 12n), 12n);
});

test("JSON: integers stay exact BigInts, floats stay doubles, __proto__ is an ordinary key", () => {
  const value = parseJson('{"a": 18446744073709551617, "b": 1.0, "c": -0, "d": 1e400, "__proto__": [true, null, "x\\u00e9"]}');
  assert.equal(value.a, 18446744073709551617n);
  assert.equal(typeof value.b, "number");
  assert.equal(value.c, 0n);
  assert.equal(value.d, Number.POSITIVE_INFINITY);
  assert.deepEqual(value.__proto__, [true, null, "x\u00e9"]);
  assert.throws(() => parseJson("{\"a\": 1,}"), SyntaxError);
  assert.equal(toJson({ v: [2n ** 70n, -3n], s: "q" }), '{"v":[1180591620717411303424,-3],"s":"q"}');
});

/** Every test of one vector file through handle(): exact outputs, or the recorded error code. */
function checkVectorFile(directory, family) {
  const file = parseJson(readFileSync(`${directory}${family}.json`, "utf8"));
  let count = 0;
  for (const group of file.testGroups) {
    for (const t of group.tests) {
      const steps = t.operations ?? [{ op: t.op, inputs: t.inputs, outputs: t.outputs, error: t.error, success: t.result !== "invalid" }];
      for (const step of steps) {
        const answer = handle({ op: step.op, profile: file.profile, params: group.params, encoding: group.encoding, inputs: step.inputs });
        const where = `${family}#${t.tcId} ${step.op}`;
        if (step.success) {
          assert.equal(answer.error, undefined, `${where}: ${answer.error?.message}`);
          assert.equal(canonical(answer.outputs), canonical(step.outputs), where);
        } else {
          assert.equal(answer.error?.code, step.error, where);
        }
      }
      count += 1;
    }
  }
  assert.equal(count, Number(file.numberOfTests));
}

const FAMILIES = ["keys", "se", "encoding", "enc", "challenge", "agg", "dec", "proofs", "errata", "transcripts"];
for (const family of FAMILIES) {
  test(`vectors v1/v1-test-512/${family}.json`, () => checkVectorFile(VECTORS, family));
  test(`vectors v2/v2-test-512/${family}.json`, () => checkVectorFile(VECTORS_V2, family));
}

/** The params object of a registered set, as the wire carries it (spec 6.4, 10.8). */
function paramsJson(params) {
  const json = { name: params.name, profile: params.profile, n: hex(params.n), g: hex(params.g),
                 exponent_bits: BigInt(params.exponentBits), insecure: params.insecure };
  return params.profile === "v2" ? { ...json, mask_bits: BigInt(params.maskBits) } : json;
}

/** A uniform value of `bits` bits as fixed-length hex, never 0 (an exponent or a mask exponent). */
const drawHex = (bits) => randomBytes(bits / 8).toString("hex").replace(/^0+$/, (zeros) => zeros.slice(1) + "1");

/**
 * One round of three clients through the wire operations (spec 5.12; 10.4 and 10.6 for `v2`), with
 * the hardening checks; returns the decoded sums, the plaintext sums computed here from the drawn
 * grid values, and what the round sent, for the abort checks of the callers.
 */
function wireRound(params) {
  const json = paramsJson(params);
  const encoding = { frac_bits: 16n, clip: 1.0, weight_max: 8n, max_clients: 10n };
  const request = (op, inputs) => handle({ op, profile: params.profile, params: json, encoding, inputs });
  const call = (op, inputs) => {
    const answer = request(op, inputs);
    assert.equal(answer.error, undefined, `${op}: ${answer.error?.message}`);
    return answer.outputs;
  };
  const exponent = () => drawHex(params.exponentBits);
  const dim = 60; // 61 slots: three segments of k = 24
  const clients = [11n, 22n, 33n];
  const [alpha] = [exponent()];
  const { betas } = call("SysGen", { alphas: [alpha] });
  const keys = clients.map((id) => {
    const sk = exponent();
    return { id, sk, pk: call("KeyGen", { sk }).pk };
  });
  const { pk_s: pkS } = call("AggPKGen", { public_keys: keys.map(({ id, pk }) => ({ id, pk })) });
  const model = randomBytes(40).toString("hex");
  const expected = new Array(dim).fill(0n);
  let expectedWeights = 0n;
  const uploads = keys.map(({ id, sk, pk }, i) => {
    call("CheckPkS", { pk_s: pkS, pk_i: pk, announced: keys.map((k) => k.pk) });
    const sealed = call("SE", { nonce: randomBytes(12).toString("hex"), pk_i: pk, alpha, model, round: 5n, client_id: id }).sealed;
    assert.equal(call("DSE", { beta: betas[0], sk, sealed, round: 5n, client_id: id }).model, model);
    // Values on the grid 2^-16 Z in [-1, 1], so that quantization is exact and the sum is known.
    const grid = Array.from({ length: dim }, () => BigInt(randomBytes(3).readUIntBE(0, 3) % 131073) - 65536n);
    const { quantized } = call("Quantize", { values: grid.map((q) => Number(q) / 65536) });
    assert.deepEqual(quantized, grid);
    const weight = BigInt(i + 2);
    grid.forEach((q, t) => { expected[t] += weight * q; });
    expectedWeights += weight;
    const { segments } = call("Encode", { quantized, weight });
    assert.equal(segments.length, 3);
    // v1: a pair (r1, r2) per segment; v2: one mask exponent r and one carrier pair (spec 10.4).
    const draws = params.profile === "v2"
      ? { r: drawHex(params.maskBits), r1: [exponent()], r2: [exponent()] }
      : { r1: segments.map(exponent), r2: segments.map(exponent) };
    const { ciphertext } = call("Enc", { betas, segments, ...draws, pk_s: pkS });
    return { sk, ciphertext };
  });
  const { challenge } = call("ChelGen", { ciphertexts: uploads.map((u) => u.ciphertext) });
  const announced = uploads.map((u) => u.ciphertext.e2.map(([a]) => a));
  const responses = uploads.map(({ sk, ciphertext }) => {
    call("CheckChallenge", { challenge, announced, own: ciphertext.e2.map(([a]) => a) });
    return call("ResGen", { challenge, sk }).response;
  });
  const aggregate = call("Agg", { ciphertexts: uploads.map((u) => u.ciphertext), responses });
  const size = params.profile === "v2" ? { clients: BigInt(clients.length) } : {};
  const { sums } = call("Dec", { alphas: [alpha], ...aggregate, ...size });
  const decoded = call("Decode", { sums, clients: BigInt(clients.length), dim: BigInt(dim) });
  return { decoded, expected, expectedWeights, request, alpha, uploads, responses, aggregate, challenge };
}

test("a whole v1 round through the wire operations decrypts the plaintext sum (v1-test-512)", () => {
  const round = wireRound(v1.parameterSet("v1-test-512"));
  assert.deepEqual(round.decoded.weighted_sums, round.expected);
  assert.equal(round.decoded.weight_sum, round.expectedWeights);
  // Dropping one response is refused (spec 5.12: the round must abort), never a wrong sum.
  const short = round.request("Agg", { ciphertexts: round.uploads.map((u) => u.ciphertext), responses: round.responses.slice(1) });
  assert.equal(short.error.code, "dimension-mismatch");
});

test("a whole v2 round decrypts the plaintext sum; an aborted or tampered one never gives a sum (v2-test-512)", () => {
  const params = v2.parameterSet("v2-test-512");
  const round = wireRound(params);
  assert.deepEqual(round.decoded.weighted_sums, round.expected);
  assert.equal(round.decoded.weight_sum, round.expectedWeights);
  // Spec 10.4: u + 1 first components (carrier first) and one e2 pair; one challenge, one response.
  for (const { ciphertext } of round.uploads) assert.deepEqual([ciphertext.e1.length, ciphertext.e2.length], [4, 1]);
  assert.equal(round.challenge.length, 1);
  const dec = (aggregate, clients) => round.request("Dec", { alphas: [round.alpha], ...aggregate, clients }).error?.code;
  // Spec 10.7 and 8.4: the server drops a client that left after upload; its carrier is missing.
  const two = round.request("Agg", { ciphertexts: round.uploads.slice(1).map((u) => u.ciphertext), responses: round.responses.slice(1) });
  assert.equal(dec({ ...two.outputs, t: round.aggregate.t }, 2n), "carrier-decryption-failed");
  // Spec 10.6: |S| >= 2 after the carrier, then the range of R against the |S| it is told.
  assert.equal(dec(round.aggregate, 1n), "too-few-clients");
  assert.equal(dec(round.aggregate, 0n), "malformed-input");
  // One segment swapped for another client's: R is right, that segment's L input is not 1 mod n.
  const swapped = { ...round.aggregate, e_agg: [...round.aggregate.e_agg] };
  [swapped.e_agg[1], swapped.e_agg[2]] = [swapped.e_agg[2], swapped.e_agg[1]];
  assert.equal(dec(swapped, 3n), "l-input-not-one-mod-n");
});

test("server.mjs speaks mpksa-conformance/1: handshake, answers in order, faults with id null", async () => {
  const child = spawn(process.execPath, [here("./server.mjs")], { stdio: ["pipe", "pipe", "inherit"] });
  const watchdog = setTimeout(() => child.kill(), 20000); // a failed assertion must not leave the child running
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => parseJson((await lines.next()).value);
  const params = readFileSync(`${VECTORS}keys.json`, "utf8");
  const group = JSON.parse(params).testGroups[0];
  child.stdin.write('{"type": "capabilities", "protocol": "mpksa-conformance/1"}\n');
  const caps = await next();
  assert.equal(caps.protocol, "mpksa-conformance/1");
  assert.deepEqual(caps.profiles, ["v1", "v2"]);
  assert.equal(caps.operations.length, 19); // Algorithm 1 and Recover (16), and the hardening's 3
  const request = (id, inputs) => JSON.stringify({ type: "request", id, op: "KeyGen", profile: "v1", params: group.params,
                                                   encoding: group.encoding, inputs }) + "\n";
  child.stdin.write(request(1, { sk: "00".repeat(15) + "01" }) + "\n" + request(2, { sk: "00".repeat(16) }) + "not json\n");
  const [first, second, third] = [await next(), await next(), await next()];
  assert.deepEqual([first.id, first.outputs.pk], [1n, hex(v1.parameterSet("v1-test-512").g).padStart(256, "0")]);
  assert.deepEqual([second.id, second.error.code], [2n, "exponent-out-of-range"]);
  assert.deepEqual([third.id, third.error.code], [null, "malformed-input"]);
  child.stdin.end();
  const status = await new Promise((resolve) => child.on("exit", resolve));
  clearTimeout(watchdog);
  assert.equal(status, 0);
});
