// A minimal implementation of the conformance protocol mpksa-conformance/1 (spec chapter 9), in
// JavaScript: it declares one operation, KeyGen (Sec. 3.1: pk = g^sk), and nothing else, so the
// runner tests KeyGen and reports every other test as skipped. Run it with
//   mpksa conformance run --impl 'node conformance/examples/keygen.mjs'
// Grow it one operation at a time; the wire format of each is in spec chapter 6.
import { createInterface } from "node:readline";

const PROTOCOL = "mpksa-conformance/1";

class WireError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

const bitLength = (x) => (x === 0n ? 0 : x.toString(2).length);
// Integers travel as fixed-length big-endian lowercase hex: as many bytes as (modulus - 1) needs.
const hexLength = (modulus) => 2 * Math.ceil(bitLength(modulus - 1n) / 8);
const toHex = (x, modulus) => x.toString(16).padStart(hexLength(modulus), "0");

// Error messages name the rule, never the value: sk is a secret.
function fromHex(text, modulus, name) {
  if (typeof text !== "string" || !/^[0-9a-f]*$/.test(text)) throw new WireError("malformed-input", `${name} must be lowercase hex`);
  if (text.length !== hexLength(modulus)) throw new WireError("malformed-input", `${name} has ${text.length} hex digits, expected ${hexLength(modulus)}`);
  return text === "" ? 0n : BigInt("0x" + text);
}

function modPow(base, exponent, modulus) {
  let result = 1n;
  base %= modulus;
  for (; exponent > 0n; exponent >>= 1n, base = (base * base) % modulus) {
    if (exponent & 1n) result = (result * base) % modulus;
  }
  return result;
}

// The group of g and the range of exponents (spec chapter 3).
function group(params) {
  const g = BigInt("0x" + params.g);
  if (params.profile === "v1" || params.profile === "v2") {  // v2 keeps v1's group and exponents
    const n = BigInt("0x" + params.n);
    return { g, modulus: n * n, exponentBound: 1n << BigInt(params.exponent_bits) };
  }
  return { g, modulus: BigInt("0x" + params.p), exponentBound: BigInt("0x" + params.q) };
}

const operations = {
  KeyGen(params, inputs) {
    const { g, modulus, exponentBound } = group(params);
    const sk = fromHex(inputs.sk, exponentBound, "sk");
    // Well-formed hex outside [1, bound) is a range error, not a format error (spec chapter 6).
    if (sk < 1n || sk >= exponentBound) throw new WireError("exponent-out-of-range", "sk must lie in [1, bound)");
    return { pk: toHex(modPow(g, sk, modulus), modulus) };
  },
};

function answer(message) {
  if (message.type === "capabilities") {
    return { type: "capabilities", protocol: PROTOCOL, name: "keygen.mjs example", profiles: ["paper", "v1", "v2"],
             parameterSets: "*", operations: Object.keys(operations) };
  }
  try {
    if (message.type !== "request" || !Object.hasOwn(operations, message.op)) {
      throw new WireError("malformed-input", "expected a capabilities message or a request for KeyGen");
    }
    return { type: "response", id: message.id, outputs: operations[message.op](message.params, message.inputs) };
  } catch (error) {
    return { type: "response", id: message.id, error: { code: error.code ?? "malformed-input", message: String(error.message) } };
  }
}

// A line that is not JSON gets an error answer with id null (spec chapter 9), never a crash.
function parse(line) {
  try { return JSON.parse(line); } catch { return { type: "garbage", id: null }; }
}

// One line in, one line out; stdout carries nothing else.
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim()) process.stdout.write(JSON.stringify(answer(parse(line))) + "\n");
}
