// The wire contract of spec chapter 6 for profiles `v1` and `v2` (10.8): exact JSON, fixed-length
// hex, and one handler per operation that reads and checks its inputs in the order spec 6.6 fixes.
import * as v1 from "./mpksa_v1.mjs";
import * as v2 from "./mpksa_v2.mjs";

const { CODES, MpksaError } = v1;
const fail = (code, message) => {
  throw new MpksaError(code, message);
};

// ---------------------------------------------------------------------------------------------
// JSON that keeps integers exact (spec 6.3): an integer literal becomes a BigInt, a literal with
// a fraction or an exponent becomes a Number (a double), as Python's json module reads them. The
// distinction matters: `"round": 1.0` is not an integer and must be refused.

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const SPECIALS = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": Number.NEGATIVE_INFINITY };

export function parseJson(text) {
  let at = 0;
  const error = (what) => {
    throw new SyntaxError(`${what} at character ${at}`);
  };
  const space = () => {
    while (at < text.length && " \t\n\r".includes(text[at])) at += 1;
  };
  const literal = (word, value) => {
    if (text.startsWith(word, at)) {
      at += word.length;
      return value;
    }
    return error("unexpected token");
  };
  const string = () => {
    const start = at;
    at += 1;
    while (at < text.length && text[at] !== '"') at += text[at] === "\\" ? 2 : 1;
    if (at >= text.length) error("unterminated string");
    at += 1;
    return JSON.parse(text.slice(start, at)); // escapes and control characters, by the standard parser
  };
  const value = (depth) => {
    if (depth > 200) error("nesting too deep");
    space();
    const c = text[at];
    if (c === "{") {
      at += 1;
      const object = Object.create(null); // "__proto__" is an ordinary key here
      space();
      if (text[at] === "}") {
        at += 1;
        return object;
      }
      for (;;) {
        space();
        if (text[at] !== '"') error("expected a key");
        const key = string();
        space();
        if (text[at] !== ":") error("expected ':'");
        at += 1;
        object[key] = value(depth + 1);
        space();
        if (text[at] === ",") at += 1;
        else if (text[at] === "}") {
          at += 1;
          return object;
        } else error("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at += 1;
      const array = [];
      space();
      if (text[at] === "]") {
        at += 1;
        return array;
      }
      for (;;) {
        array.push(value(depth + 1));
        space();
        if (text[at] === ",") at += 1;
        else if (text[at] === "]") {
          at += 1;
          return array;
        } else error("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true", true);
    if (c === "f") return literal("false", false);
    if (c === "n") return literal("null", null);
    if (c === "N") return literal("NaN", Number.NaN);
    if (c === "I") return literal("Infinity", Number.POSITIVE_INFINITY);
    if (text.startsWith("-Infinity", at)) return literal("-Infinity", Number.NEGATIVE_INFINITY);
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) return error("unexpected token");
    at = NUMBER.lastIndex;
    return match[1] === undefined && match[2] === undefined ? BigInt(match[0]) : Number(match[0]);
  };
  const result = value(0);
  space();
  if (at !== text.length) error("trailing characters");
  return result;
}

/** JSON text of a value whose integers are BigInts (written as plain JSON integers). */
export function toJson(value) {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return '"NaN"';
    if (!Number.isFinite(value)) return value > 0 ? '"Infinity"' : '"-Infinity"';
    return Number.isInteger(value) && Math.abs(value) < 1e16 ? value.toFixed(1) : String(value);
  }
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  return `{${Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${toJson(value[key])}`)
    .join(",")}}`;
}

export const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
const isInteger = (x) => typeof x === "bigint";
const typeName = (x) => (x === null ? "null" : Array.isArray(x) ? "list" : isInteger(x) ? "int" : typeof x === "number" ? "float" : typeof x);
const shown = (x) => {
  const text = typeof x === "string" ? JSON.stringify(x) : x === undefined ? "None" : toJson(x);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
};

// ---------------------------------------------------------------------------------------------
// Fixed-length hex (spec 6.1, 6.2)

const HEX = /^[0-9a-f]*$/;

/** L(M) = ceil(bitlength(M - 1) / 8) bytes for integers in [0, M). */
export const nbytes = (modulus) => Math.ceil(v1.bitLength(modulus - 1n) / 8);

export const toHex = (x, modulus) => x.toString(16).padStart(2 * nbytes(modulus), "0");

export function fromHex(text, modulus, name) {
  if (typeof text !== "string" || !HEX.test(text)) fail(CODES.malformedInput, `${name} = ${shown(text)} must be lowercase hex`);
  if (text.length !== 2 * nbytes(modulus)) {
    fail(CODES.malformedInput, `${name} has ${text.length} hex digits, expected ${2 * nbytes(modulus)}`);
  }
  return text === "" ? 0n : BigInt("0x" + text);
}

export function bytesFromHex(text, name) {
  if (typeof text !== "string" || !HEX.test(text) || text.length % 2) {
    fail(CODES.malformedInput, `${name} = ${shown(text)} must be lowercase hex of whole bytes`);
  }
  return Buffer.from(text, "hex");
}

function list(value, name) {
  if (!Array.isArray(value)) fail(CODES.malformedInput, `${name} must be a list, got ${typeName(value)}`);
  return value;
}

/** A JSON integer (not a float, not a boolean) in [low, high]. */
function integer(value, name, low, high) {
  if (!isInteger(value) || value < low || value > high) {
    fail(CODES.malformedInput, `${name} = ${shown(value)} must be an integer in [${low}, ${high}]`);
  }
  return value;
}

/** Spec 6.3: a double, or "NaN", "Infinity", "-Infinity"; booleans and other strings are refused. */
function floatFromJson(value, name) {
  if (typeof value === "string" && Object.hasOwn(SPECIALS, value)) return SPECIALS[value];
  if (typeof value === "number") return value;
  if (isInteger(value)) return Number(value); // correctly rounded, like Python's float(int)
  return fail(CODES.malformedInput, `${name} = ${shown(value)} must be a number, 'NaN', 'Infinity' or '-Infinity'`);
}

/** Spec 6.1: which modulus fixes the length of each kind of integer in `v1` and `v2`. */
class Codec {
  constructor(params) {
    this.params = params;
  }

  element(x) {
    return toHex(x, this.params.n2);
  }

  elementIn(text, name) {
    return fromHex(text, this.params.n2, name);
  }

  e1(x) {
    return toHex(x, this.params.n2);
  }

  e1In(text, name) {
    return fromHex(text, this.params.n2, name);
  }

  exponentIn(text, name) {
    return v1.checkExponent(this.params, fromHex(text, this.params.exponentBound, name), name);
  }

  /** Spec 10.8: the `v2` mask exponent r, fixed-length hex of 2^L, then [1, 2^L). */
  maskIn(text, name) {
    return v2.checkMaskExponent(this.params, fromHex(text, this.params.maskBound, name), name);
  }

  /** Packed segments and their sums: integers mod n, written reduced mod n. */
  message(x) {
    const n = this.params.n;
    return toHex(((x % n) + n) % n, n);
  }

  messageIn(text, name) {
    return fromHex(text, this.params.n, name);
  }

  elements(texts, name) {
    return list(texts, name).map((t, j) => this.elementIn(t, `${name}[${j}]`));
  }

  ciphertext(c) {
    return { e1: c.e1.map((x) => this.e1(x)), e2: c.e2.map(([a, b]) => [this.element(a), this.element(b)]) };
  }

  /** Spec 6.6: a statement object, every field present. */
  statementIn(data, name) {
    const fields = ["kind", "client_id", "index", "round", "online"];
    if (!isObject(data) || Object.keys(data).length !== fields.length || !fields.every((f) => Object.hasOwn(data, f))) {
      fail(CODES.malformedInput, `${name} must be an object with exactly the fields ${fields.join(", ")}`);
    }
    if (typeof data.kind !== "string") fail(CODES.malformedInput, `${name}.kind = ${shown(data.kind)} must be a string`);
    const online = list(data.online, `${name}.online`).map((id, j) => integer(id, `${name}.online[${j}]`, 0n, U32));
    const clientId = integer(data.client_id, `${name}.client_id`, 0n, U32);
    const index = integer(data.index, `${name}.index`, 0n, U32);
    return { kind: data.kind, clientId, index, round: integer(data.round, `${name}.round`, 0n, U64), online };
  }

  proof({ c, z }) {
    return { c: toHex(c, 1n << v1.PROOF_CHALLENGE_BITS), z: toHex(z, v1.proofResponseBound(this.params)) };
  }

  proofIn(data, name) {
    if (!isObject(data) || Object.keys(data).length !== 2 || !Object.hasOwn(data, "c") || !Object.hasOwn(data, "z")) {
      fail(CODES.malformedInput, `${name} must be an object with exactly the fields c and z`);
    }
    return { c: fromHex(data.c, 1n << v1.PROOF_CHALLENGE_BITS, `${name}.c`),
             z: fromHex(data.z, v1.proofResponseBound(this.params), `${name}.z`) };
  }

  /** The nonce k of a proof: fixed-length hex in [1, 2^(l + 256)) (spec 5.14). */
  nonceIn(text, name) {
    const bound = 1n << v1.proofNonceBits(this.params);
    const k = fromHex(text, bound, name);
    if (!(k > 0n && k < bound)) fail(CODES.exponentOutOfRange, `${name} must lie in [1, 2^${v1.proofNonceBits(this.params)})`);
    return k;
  }

  ciphertextIn(data, name) {
    if (!isObject(data)) fail(CODES.malformedInput, `${name} must be an object with e1 and e2`);
    const e1 = list(data.e1, `${name}.e1`).map((x, j) => this.e1In(x, `${name}.e1[${j}]`));
    const e2 = list(data.e2, `${name}.e2`).map((pair, j) => this.elements(pair, `${name}.e2[${j}]`));
    if (e2.some((pair) => pair.length !== 2)) fail(CODES.malformedInput, `${name}.e2 must hold pairs`);
    return { e1, e2 };
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter sets and encoding settings (spec 6.4)

/** Minimal lowercase hex: no prefix, no leading zeros (spec 6.4; also the `a` of Recover). */
const MINIMAL_HEX = /^[1-9a-f][0-9a-f]*$/;
const knownParams = new Map();

function field(data, key, type) {
  const value = data[key];
  const ok = type === "integer" ? isInteger(value) : typeof value === type;
  if (!ok) fail(CODES.invalidParameters, `params.${key} = ${shown(value)} must be ${type === "integer" ? "an integer" : `a ${type}`}`);
  return value;
}

function hexField(data, key) {
  const value = data[key];
  if (typeof value !== "string" || !MINIMAL_HEX.test(value)) {
    fail(CODES.invalidParameters, `params.${key} = ${shown(value)} must be minimal lowercase hex`);
  }
  return BigInt("0x" + value);
}

/**
 * Spec 6.4, 3.6 and 10.8: a params object of profile `v1` or `v2`. A registered name must carry
 * exactly the registered values, profile included (this implementation re-derives them, chapter
 * 3); an unregistered set is accepted only when flagged insecure and well formed (odd n > 3,
 * 1 <= exponent_bits <= 8192, g a unit mod n^2 other than 1; in `v2` also 1 <= mask_bits < |n| - 32).
 */
export function paramsFromJson(data) {
  if (!isObject(data)) fail(CODES.invalidParameters, "params must be an object");
  const name = field(data, "name", "string");
  const profile = field(data, "profile", "string");
  const insecure = field(data, "insecure", "boolean");
  if (profile !== "v1" && profile !== "v2") {
    fail(CODES.invalidParameters, `params.profile = ${shown(profile)} is not supported: this implementation has v1 and v2`);
  }
  const n = hexField(data, "n");
  const g = hexField(data, "g");
  const bits = field(data, "exponent_bits", "integer");
  const maskBits = profile === "v2" ? field(data, "mask_bits", "integer") : null;
  const key = `${profile}/${name}/${data.n}/${data.g}/${bits}/${maskBits}/${insecure}`;
  if (!knownParams.has(key)) knownParams.set(key, checkedParams({ name, profile, n, g, bits, maskBits, insecure }));
  return knownParams.get(key);
}

function registeredParameterSet(name) {
  if (v1.PARAMETER_SET_NAMES.includes(name)) return v1.parameterSet(name);
  if (v2.PARAMETER_SET_NAMES.includes(name)) return v2.parameterSet(name);
  return null;
}

function checkedParams({ name, profile, n, g, bits, maskBits, insecure }) {
  const registered = registeredParameterSet(name);
  if (registered !== null) {
    const same = registered.profile === profile && registered.n === n && registered.g === g
      && BigInt(registered.exponentBits) === bits && registered.insecure === insecure
      && (profile !== "v2" || BigInt(registered.maskBits) === maskBits);
    if (!same) fail(CODES.invalidParameters, `params named ${shown(name)} differ from the registered parameter set`);
    return registered;
  }
  const rule = (ok, text) => ok || fail(CODES.invalidParameters, `unregistered params ${shown(name)}: ${text}`);
  rule(insecure, "an unregistered parameter set must be flagged insecure");
  rule(n > 3n && (n & 1n) === 1n, "n must be odd and greater than 3");
  rule(bits >= 1n && bits <= 8192n, "exponent_bits must lie in [1, 8192]");
  rule(g > 1n && g < n * n && v1.gcd(g, n) === 1n, "g must be a unit mod n^2 other than 1");
  if (profile === "v1") return v1.v1Params(name, n, g, Number(bits), true);
  const limit = BigInt(v1.bitLength(n) - v2.MAX_CLIENT_BITS);
  rule(maskBits >= 1n && maskBits < limit, `mask_bits must lie in [1, |n| - ${v2.MAX_CLIENT_BITS}) = [1, ${limit})`);
  return v2.v2Params(name, n, g, Number(bits), Number(maskBits), true);
}

const DEFAULT_ENCODING = { frac_bits: 16n, clip: 1.0, weight_max: 1n, max_clients: 10n };

const ENCODING_FIELDS = ["clip", "frac_bits", "max_clients", "weight_max"];

/** Spec 6.4: a missing or null encoding means the defaults; anything else is exactly the four fields. */
export function encodingFromJson(data) {
  const source = data === undefined || data === null ? DEFAULT_ENCODING : data;
  if (!isObject(source) || JSON.stringify(Object.keys(source).sort()) !== JSON.stringify(ENCODING_FIELDS)) {
    fail(CODES.invalidParameters, `encoding must be an object with exactly the fields ${ENCODING_FIELDS.join(", ")}`);
  }
  const { frac_bits: fracBits, clip, weight_max: weightMax, max_clients: maxClients } = source;
  const number = typeof clip === "number" ? clip : isInteger(clip) ? Number(clip) : null;
  if (!isInteger(fracBits) || number === null || !isInteger(weightMax) || !isInteger(maxClients)) {
    fail(CODES.invalidParameters, "malformed encoding object: need integers frac_bits, weight_max, max_clients and a number clip");
  }
  if (fracBits < 0n || fracBits > 52n) fail(CODES.invalidParameters, `frac_bits = ${fracBits} must lie in [0, 52]`);
  return new v1.Encoding(Number(fracBits), number, weightMax, maxClients);
}

// ---------------------------------------------------------------------------------------------
// The operations (spec 6.6), inputs read in the order of the reference handlers.

const U32 = (1n << 32n) - 1n;
const U64 = (1n << 64n) - 1n;

const OPERATIONS = new Map(Object.entries({
  SysGen({ params, codec }, inp) {
    const alphas = list(inp.alphas, "alphas").map((a, j) => codec.exponentIn(a, `alphas[${j}]`));
    return { betas: v1.sysGen(params, alphas).map((b) => codec.element(b)) };
  },

  KeyGen({ params, codec }, inp) {
    return { pk: codec.element(v1.keyGen(params, codec.exponentIn(inp.sk, "sk"))) };
  },

  AggPKGen({ params, codec }, inp) {
    const keys = list(inp.public_keys, "public_keys").map((entry, j) => {
      if (!isObject(entry)) fail(CODES.malformedInput, `public_keys[${j}] must be an object with id and pk`);
      return [integer(entry.id, `public_keys[${j}].id`, 0n, U32), codec.elementIn(entry.pk, `public_keys[${j}].pk`)];
    });
    return { pk_s: codec.element(v1.aggPkGen(params, keys)) };
  },

  CheckPkS({ params, codec }, inp) {
    const pkS = codec.elementIn(inp.pk_s, "pk_s");
    const pkI = codec.elementIn(inp.pk_i, "pk_i");
    const announced = inp.announced === undefined || inp.announced === null ? null : codec.elements(inp.announced, "announced");
    v1.checkPkS(params, pkS, pkI, announced);
    return {};
  },

  SE({ params, codec }, inp) {
    const nonce = bytesFromHex(inp.nonce, "nonce");
    if (nonce.length !== v1.NONCE_BYTES) fail(CODES.malformedInput, `nonce has ${nonce.length} bytes, expected ${v1.NONCE_BYTES}`);
    const pkI = codec.elementIn(inp.pk_i, "pk_i");
    const alpha = codec.exponentIn(inp.alpha, "alpha");
    const model = bytesFromHex(inp.model, "model");
    const round = integer(inp.round, "round", 0n, U64);
    const clientId = integer(inp.client_id, "client_id", 0n, U32);
    return { sealed: v1.se(params, pkI, alpha, model, round, clientId, nonce).toString("hex") };
  },

  DSE({ params, codec }, inp) {
    const beta = codec.elementIn(inp.beta, "beta");
    const sk = codec.exponentIn(inp.sk, "sk");
    const sealed = bytesFromHex(inp.sealed, "sealed");
    const round = integer(inp.round, "round", 0n, U64);
    const clientId = integer(inp.client_id, "client_id", 0n, U32);
    return { model: v1.dse(params, beta, sk, sealed, round, clientId).toString("hex") };
  },

  Quantize({ encoding }, inp) {
    const values = list(inp.values, "values").map((v, j) => floatFromJson(v, `values[${j}]`));
    const clip = inp.clip === undefined ? true : inp.clip;
    if (typeof clip !== "boolean") fail(CODES.malformedInput, `clip = ${shown(clip)} must be a boolean`);
    return { quantized: v1.quantize(values, encoding, clip) };
  },

  Encode({ params, encoding, codec }, inp) {
    const bound = 1n << 63n;
    const quantized = list(inp.quantized, "quantized").map((q, j) => integer(q, `quantized[${j}]`, -bound, bound));
    const weight = integer(inp.weight, "weight", -bound, bound);
    return { segments: v1.encodeV1(quantized, weight, encoding, params.modulusBits).map((m) => codec.message(m)) };
  },

  Enc({ params, codec }, inp) {
    const betas = codec.elements(inp.betas, "betas");
    const messages = list(inp.segments, "segments").map((m, j) => codec.messageIn(m, `segments[${j}]`));
    const r1 = list(inp.r1, "r1").map((r, j) => codec.exponentIn(r, `r1[${j}]`));
    const r2 = list(inp.r2, "r2").map((r, j) => codec.exponentIn(r, `r2[${j}]`));
    if (r1.length !== r2.length) fail(CODES.dimensionMismatch, `${r1.length} values r1 but ${r2.length} values r2`);
    const draws = r1.flatMap((r, j) => [r, r2[j]]);
    // v2 (spec 10.8): the mask exponent r is read after r1, r2 and replayed first.
    if (params.profile === "v2") draws.unshift(codec.maskIn(inp.r, "r"));
    const pkS = codec.elementIn(inp.pk_s, "pk_s");
    // v1 and v2 have one server key (spec 5.5): exactly one beta.
    v1.checkLength(betas, 1, "betas");
    const encrypt = params.profile === "v2" ? v2.encV2 : v1.encV1;
    return { ciphertext: codec.ciphertext(encrypt(params, betas[0], pkS, messages, draws)) };
  },

  ChelGen({ params, codec }, inp) {
    const cts = list(inp.ciphertexts, "ciphertexts").map((c, i) => codec.ciphertextIn(c, `ciphertexts[${i}]`));
    if (cts.length === 0) fail(CODES.malformedInput, "ciphertexts must not be empty");
    return { challenge: v1.chelGen(params, cts).map((r) => codec.element(r)) };
  },

  CheckChallenge({ params, codec }, inp) {
    const announced = list(inp.announced, "announced").map((row, k) => codec.elements(row, `announced[${k}]`));
    const challenge = codec.elements(inp.challenge, "challenge");
    const own = codec.elements(inp.own, "own");
    v1.checkChallenge(params, challenge, announced, own);
    return {};
  },

  ResGen({ params, codec }, inp) {
    const challenge = codec.elements(inp.challenge, "challenge");
    const sk = codec.exponentIn(inp.sk, "sk");
    return { response: v1.resGen(params, challenge, sk).map((t) => codec.element(t)) };
  },

  Agg({ params, codec }, inp) {
    const cts = list(inp.ciphertexts, "ciphertexts").map((c, i) => codec.ciphertextIn(c, `ciphertexts[${i}]`));
    const responses = list(inp.responses, "responses").map((t, i) => codec.elements(t, `responses[${i}]`));
    if (cts.length === 0) fail(CODES.malformedInput, "ciphertexts must not be empty");
    const a = v1.agg(params, cts, responses);
    return { e_agg: a.eAgg.map((x) => codec.e1(x)), d: a.d.map((x) => codec.element(x)), t: a.t.map((x) => codec.element(x)) };
  },

  Dec({ params, codec }, inp) {
    const alphas = list(inp.alphas, "alphas").map((a, j) => codec.exponentIn(a, `alphas[${j}]`));
    const eAgg = list(inp.e_agg, "e_agg").map((x, j) => codec.e1In(x, `e_agg[${j}]`));
    const d = codec.elements(inp.d, "d");
    const t = codec.elements(inp.t, "t");
    // v2 (spec 10.6, 10.8): |S| is read last and checks the mask sum the carriers decrypt to.
    const sums = params.profile === "v2"
      ? v2.decV2(params, alphas, { eAgg, d, t }, integer(inp.clients, "clients", 1n, U32))
      : v1.decV1(params, alphas, { eAgg, d, t });
    return { sums: sums.map((m) => codec.message(m)) };
  },

  Decode({ params, encoding, codec }, inp) {
    const sums = list(inp.sums, "sums").map((m, j) => codec.messageIn(m, `sums[${j}]`));
    const clients = integer(inp.clients, "clients", 1n, U32);
    const dim = integer(inp.dim, "dim", 0n, U32);
    const { weightedSums, weightSum } = v1.decodeV1(sums, encoding, clients, Number(dim), params.modulusBits);
    return { weighted_sums: weightedSums, weight_sum: weightSum };
  },

  Recover({ params, codec }, inp) {
    const a = list(inp.a, "a").map((x, j) => {
      if (typeof x !== "string" || !MINIMAL_HEX.test(x)) fail(CODES.malformedInput, `a[${j}] = ${shown(x)} must be minimal lowercase hex`);
      return BigInt("0x" + x);
    });
    v1.checkSuperIncreasing(a, integer(inp.bound, "bound", 1n, 1n << 64n), params.n);
    return { values: v1.recover(codec.messageIn(inp.total, "total"), a) };
  },

  Prove({ params, codec }, inp) {
    const statement = codec.statementIn(inp.statement, "statement");
    const x = codec.exponentIn(inp.x, "x");
    const { y, c, z } = v1.prove(params, statement, x, codec.nonceIn(inp.k, "k"));
    return { element: codec.element(y), proof: codec.proof({ c, z }) };
  },

  CheckProof({ params, codec }, inp) {
    const statement = codec.statementIn(inp.statement, "statement");
    const y = codec.elementIn(inp.element, "element");
    v1.checkProof(params, statement, y, codec.proofIn(inp.proof, "proof"));
    return {};
  },

  CheckElement({ params, codec }, inp) {
    v1.checkNondegenerate(params, codec.elementIn(inp.element, "element"), "element");
    return {};
  },
}));

export const OPERATION_NAMES = Object.freeze([...OPERATIONS.keys()]);

/** Spec 6.5: params, profile and encoding of a request, read before its inputs. */
function context(request) {
  const params = paramsFromJson(request.params);
  if (request.profile !== undefined && request.profile !== params.profile) {
    fail(CODES.invalidParameters, `profile ${shown(request.profile)} does not match the params (${params.profile})`);
  }
  return { params, encoding: encodingFromJson(request.encoding), codec: new Codec(params) };
}

/**
 * Spec 6.5: one operation request to one answer, {outputs} or {error: {code, message}}. Only
 * MpksaError becomes an error answer; anything else is a bug of this implementation and is
 * thrown to the caller.
 */
export function handle(request) {
  try {
    if (!isObject(request) || typeof request.op !== "string" || !OPERATIONS.has(request.op)) {
      fail(CODES.malformedInput, `unknown operation ${shown(isObject(request) ? request.op : request)}`);
    }
    if (!isObject(request.inputs) || !isObject(request.params)) fail(CODES.malformedInput, "a request needs objects 'params' and 'inputs'");
    return { outputs: OPERATIONS.get(request.op)(context(request), request.inputs) };
  } catch (error) {
    if (error instanceof MpksaError) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}
