// Self-test of the JavaScript `v1` implementation:  node --test javascript/test.mjs
//
// Expected values come from the specification's text (check values of chapter 3, the worked
// example of 4.10, the rounding examples of 4.2, the associated-data example of 6.2), from the
// shipped test vectors (made by the reference, vectors/v1/v1-test-512), and from plaintext sums
// computed here directly from the drawn inputs; never from this implementation's own outputs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as v1 from "./mpksa_v1.mjs";
import { handle, parseJson, toJson } from "./wire.mjs";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const VECTORS = here("../vectors/v1/v1-test-512/");
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
function checkVectorFile(family) {
  const file = parseJson(readFileSync(`${VECTORS}${family}.json`, "utf8"));
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

for (const family of ["keys", "se", "encoding", "enc", "challenge", "agg", "dec", "errata", "transcripts"]) {
  test(`vectors v1/v1-test-512/${family}.json`, () => checkVectorFile(family));
}

test("a whole round through the wire operations decrypts the plaintext sum (v1-test-512)", () => {
  const paramsJson = { name: "v1-test-512", profile: "v1", n: hex(v1.parameterSet("v1-test-512").n),
                       g: hex(v1.parameterSet("v1-test-512").g), exponent_bits: 128n, insecure: true };
  const encoding = { frac_bits: 16n, clip: 1.0, weight_max: 8n, max_clients: 10n };
  const call = (op, inputs) => {
    const answer = handle({ op, profile: "v1", params: paramsJson, encoding, inputs });
    assert.equal(answer.error, undefined, `${op}: ${answer.error?.message}`);
    return answer.outputs;
  };
  const exponent = () => randomBytes(16).toString("hex").replace(/^0{32}$/, "0".repeat(31) + "1");
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
    const r1 = segments.map(exponent);
    const r2 = segments.map(exponent);
    return { sk, ciphertext: call("Enc", { betas, segments, r1, r2, pk_s: pkS }).ciphertext };
  });
  const { challenge } = call("ChelGen", { ciphertexts: uploads.map((u) => u.ciphertext) });
  const announced = uploads.map((u) => u.ciphertext.e2.map(([a]) => a));
  const responses = uploads.map(({ sk, ciphertext }) => {
    call("CheckChallenge", { challenge, announced, own: ciphertext.e2.map(([a]) => a) });
    return call("ResGen", { challenge, sk }).response;
  });
  const aggregate = call("Agg", { ciphertexts: uploads.map((u) => u.ciphertext), responses });
  const { sums } = call("Dec", { alphas: [alpha], ...aggregate });
  const decoded = call("Decode", { sums, clients: BigInt(clients.length), dim: BigInt(dim) });
  assert.deepEqual(decoded.weighted_sums, expected);
  assert.equal(decoded.weight_sum, expectedWeights);
  // Dropping one response is refused (spec 5.12: the round must abort), never a wrong sum.
  const short = handle({ op: "Agg", profile: "v1", params: paramsJson, encoding,
                         inputs: { ciphertexts: uploads.map((u) => u.ciphertext), responses: responses.slice(1) } });
  assert.equal(short.error.code, "dimension-mismatch");
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
  assert.deepEqual(caps.profiles, ["v1"]);
  assert.equal(caps.operations.length, 16);
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
