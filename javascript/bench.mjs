// Timing of the costly parts:  node javascript/bench.mjs
// Compares the sliding-window modPow with plain square-and-multiply, and times one KeyGen, one
// Enc segment and one ResGen per v1 parameter set, and per v2 set one base derivation, Enc and
// Dec of u = 10 segments (median of a few runs, milliseconds).
import { randomBytes } from "node:crypto";
import * as v1 from "./mpksa_v1.mjs";
import * as v2 from "./mpksa_v2.mjs";

const random = (bits) => BigInt("0x" + randomBytes(Math.ceil(bits / 8)).toString("hex")) | 1n;

function squareAndMultiply(base, exponent, modulus) {
  let result = 1n;
  for (base %= modulus; exponent > 0n; exponent >>= 1n, base = (base * base) % modulus) {
    if (exponent & 1n) result = (result * base) % modulus;
  }
  return result;
}

function median(run, repeats) {
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[repeats >> 1];
}

console.log("modPow mod n^2: exponent bits, square-and-multiply ms, sliding window ms");
for (const [modulusBits, exponentBits] of [[1024, 128], [4096, 256], [4096, 2176]]) {
  const modulus = random(modulusBits);
  const base = random(modulusBits - 1);
  const exponent = random(exponentBits);
  const plain = median(() => squareAndMultiply(base, exponent, modulus), 5);
  const windowed = median(() => v1.modPow(base, exponent, modulus), 5);
  console.log(`  ${modulusBits}-bit modulus, ${exponentBits}-bit exponent: ${plain.toFixed(2)} / ${windowed.toFixed(2)}`);
}

console.log("operations: KeyGen, Enc (one segment), ResGen (one segment), ms");
for (const name of v1.PARAMETER_SET_NAMES) {
  const params = v1.parameterSet(name);
  const exponent = () => (random(params.exponentBits) % (params.exponentBound - 1n)) + 1n;
  const pk = v1.keyGen(params, exponent());
  const keygen = median(() => v1.keyGen(params, exponent()), 5);
  const enc = median(() => v1.encV1(params, pk, pk, [12345n], [exponent(), exponent()]), 5);
  const resgen = median(() => v1.resGen(params, [pk], exponent()), 5);
  console.log(`  ${name}: ${keygen.toFixed(2)}, ${enc.toFixed(2)}, ${resgen.toFixed(2)}`);
}

const SEGMENTS = 10;
console.log(`v2: one base h_j, then per segment of u = ${SEGMENTS}: Enc (carrier included), Dec of 3 clients (carrier included), ms`);
for (const name of v2.PARAMETER_SET_NAMES) {
  const params = v2.parameterSet(name);
  const draw = (bound) => (random(v1.bitLength(bound)) % (bound - 1n)) + 1n;
  const base = median(() => v2.deriveSegmentBase(params.n, BigInt(1 + Math.floor(Math.random() * 1e6))), 3);
  v2.segmentBases(params, SEGMENTS); // derived once per n, as Enc and Dec use them
  const alpha = draw(params.exponentBound);
  const [beta] = v1.sysGen(params, [alpha]);
  const sks = [1, 2, 3].map(() => draw(params.exponentBound));
  const pkS = v1.aggPkGen(params, sks.map((sk, i) => [BigInt(i), v1.keyGen(params, sk)]));
  const messages = Array.from({ length: SEGMENTS }, () => random(params.modulusBits) % params.n);
  const upload = () => v2.encV2(params, beta, pkS, messages, [draw(params.maskBound), draw(params.exponentBound), draw(params.exponentBound)]);
  const enc = median(upload, 3) / SEGMENTS;
  const cts = sks.map(upload);
  const challenge = v1.chelGen(params, cts);
  const aggregate = v1.agg(params, cts, sks.map((sk) => v1.resGen(params, challenge, sk)));
  const dec = median(() => v2.decV2(params, [alpha], aggregate, 3n), 3) / SEGMENTS;
  console.log(`  ${name}: ${base.toFixed(2)}, ${enc.toFixed(2)}, ${dec.toFixed(2)}`);
}
