// MPKSA profile `v1` in JavaScript, written from the specification (spec/ chapters 3 to 6) alone,
// with the group arithmetic and the operations that profile `v2` shares (spec 10.1); `v2` runs the
// same ChelGen, CheckChallenge, ResGen, Agg, AggPKGen, CheckPkS, SE and DSE with the extra checks
// of spec 10.5 (`checkPowerBase`, `checkCarrierOnly`), and adds its own in mpksa_v2.mjs.
//
// Every integer is a BigInt; hashing and AES-256-GCM come from node:crypto. No dependencies.
// Each function names the chapter and section of the spec it implements. Errors are MpksaError
// with the stable codes of spec 6.7; bad input never gives a result.
//
// Not constant-time, not audited: a second implementation for conformance testing only.
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";

// ---------------------------------------------------------------------------------------------
// Errors (spec 6.7)

export const CODES = Object.freeze({
  invalidParameters: "invalid-parameters",
  malformedInput: "malformed-input",
  elementOutOfRange: "element-out-of-range",
  exponentOutOfRange: "exponent-out-of-range",
  nonUnit: "non-unit",
  lInput: "l-input-not-one-mod-n",
  nonFinite: "non-finite-value",
  valueOutOfRange: "value-out-of-range",
  slotOverflow: "slot-overflow",
  dimensionMismatch: "dimension-mismatch",
  tooFewClients: "too-few-clients",
  duplicateClientId: "duplicate-client-id",
  singleClientAbort: "single-client-abort",
  aggregateKeyMismatch: "aggregate-key-mismatch",
  challengeMismatch: "challenge-mismatch",
  degenerateElement: "degenerate-element",
  proofInvalid: "proof-invalid",
  aeadFailure: "aead-failure",
  // profile v2 (spec 10.8)
  degenerateElement: "degenerate-element",
  carrierDecryptionFailed: "carrier-decryption-failed",
  maskSumOutOfRange: "mask-sum-out-of-range",
  exponentReused: "exponent-reused",
});

/** A typed failure: `code` is one of the stable codes of spec 6.7, `message` is for people. */
export class MpksaError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "MpksaError";
    this.code = code;
  }
}

const fail = (code, message) => {
  throw new MpksaError(code, message);
};

/** A short form of a big number for error messages (never a secret: only public values). */
export function show(x) {
  const text = typeof x === "bigint" ? "0x" + x.toString(16) : String(x);
  return text.length > 40 ? `${text.slice(0, 18)}...${text.slice(-16)}` : text;
}

// ---------------------------------------------------------------------------------------------
// Big-integer arithmetic

/** |x|, the bit length of a non-negative integer (spec 2.2). */
export function bitLength(x) {
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + Number.parseInt(hex[0], 16).toString(2).length;
}

export function gcd(a, b) {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/** a^{-1} mod m by the extended Euclidean algorithm; a must be a unit mod m. */
export function modInverse(a, m) {
  let [r0, r1] = [m, ((a % m) + m) % m];
  let [s0, s1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError("modInverse of a non-unit");
  return ((s0 % m) + m) % m;
}

/** Window width for sliding-window exponentiation: minimises squarings + table + multiplications. */
function windowBits(exponentBits) {
  if (exponentBits > 1536) return 6;
  if (exponentBits > 384) return 5;
  if (exponentBits > 96) return 4;
  if (exponentBits > 24) return 3;
  return 1;
}

/**
 * base^exponent mod modulus by left-to-right sliding windows over odd powers (the exponent's
 * bits are read from its binary string: BigInt has no cheap bit access). A negative exponent
 * inverts the base first (as gmpy2.powmod does, used by Dec in spec 5.11).
 */
export function modPow(base, exponent, modulus) {
  if (modulus === 1n) return 0n;
  if (exponent < 0n) return modPow(modInverse(base, modulus), -exponent, modulus);
  base = ((base % modulus) + modulus) % modulus;
  if (exponent === 0n) return 1n;
  const bits = exponent.toString(2);
  const w = windowBits(bits.length);
  const odd = [base]; // odd[i] = base^(2i+1)
  if (w > 1) {
    const square = (base * base) % modulus;
    for (let i = 1; i < 1 << (w - 1); i++) odd.push((odd[i - 1] * square) % modulus);
  }
  let result = 1n;
  let started = false;
  let i = 0;
  while (i < bits.length) {
    if (bits[i] === "0") {
      if (started) result = (result * result) % modulus;
      i += 1;
      continue;
    }
    let j = Math.min(i + w, bits.length);
    while (bits[j - 1] === "0") j -= 1; // the window ends on a 1 bit: an odd value
    if (started) for (let k = i; k < j; k++) result = (result * result) % modulus;
    const factor = odd[Number.parseInt(bits.slice(i, j), 2) >> 1];
    result = started ? (result * factor) % modulus : factor;
    started = true;
    i = j;
  }
  return result;
}

const SMALL_PRIMES = (() => {
  const out = [];
  for (let p = 2; out.length < 300; p++) if (out.every((q) => p % q !== 0)) out.push(p);
  return out.map(BigInt);
})();

/**
 * Miller-Rabin with the first 40 primes as bases. Used only to re-derive the test modulus of
 * spec 3.4 ("primality is a property of the number"); the result is then compared with the
 * check values the spec publishes, so a composite accepted by mistake could not go unnoticed.
 */
export function isProbablePrime(n) {
  if (n < 2n) return false;
  for (const p of SMALL_PRIMES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s += 1;
  }
  witness: for (const a of SMALL_PRIMES.slice(0, 40)) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let r = 1; r < s; r++) {
      x = (x * x) % n;
      if (x === n - 1n) continue witness;
    }
    return false;
  }
  return true;
}

/** The smallest prime strictly greater than x (gmpy2.next_prime, spec 3.4). */
export function nextPrime(x) {
  let candidate = x + 1n;
  if (candidate <= 2n) return 2n;
  if ((candidate & 1n) === 0n) candidate += 1n;
  while (!isProbablePrime(candidate)) candidate += 2n;
  return candidate;
}

// ---------------------------------------------------------------------------------------------
// Bytes and hashing (spec 3.2, 6.1)

/** I2OSP(x, L): exactly L bytes big-endian; an integer that does not fit is invalid-parameters. */
export function i2osp(x, length) {
  if (x < 0n || bitLength(x) > 8 * length) {
    fail(CODES.invalidParameters, `integer of ${bitLength(x)} bits does not fit in ${length} bytes`);
  }
  return Buffer.from(x.toString(16).padStart(2 * length, "0"), "hex");
}

/** OS2IP: the unsigned big-endian integer of a byte string. */
export function os2ip(bytes) {
  return bytes.length === 0 ? 0n : BigInt("0x" + Buffer.from(bytes).toString("hex"));
}

/** SHAKE(label, data, N) = SHAKE256(I2OSP(len(label), 2) || label || data), N bytes (spec 3.2). */
export function shake(label, data, nbytes) {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(label.length);
  return createHash("shake256", { outputLength: nbytes }).update(Buffer.concat([prefix, label, data])).digest();
}

export const sha256 = (bytes) => createHash("sha256").update(bytes).digest();

// ---------------------------------------------------------------------------------------------
// Parameter sets (spec chapter 3)

/** The RSA-2048 challenge number (spec 3.4), 617 decimal digits. */
export const RSA_2048 = BigInt(
  "2519590847565789349402718324004839857142928212620403202777713783604366202070" +
    "7595556264018525880784406918290641249515082189298559149176184502808489120072" +
    "8449926873928072877767359714183472702618963750149718246911650776133798590957" +
    "0009733045974880842840179742910064245869181719511874612151517265463228221686" +
    "9987549182422433637259085141865462043576798423387184774447920739934236584823" +
    "8242811981638150106748104516603773060562016196762561338441436038339044149526" +
    "3443219011465754445417842402092461651572335077870774981712577246796292638635" +
    "6373289912154831438167899885040445364023527381951378636564391212010397122822" +
    "120720357",
);
export const RSA_2048_SHA256 = "b3c2468add10e2a0c4a251d9d2bac4ba04d4b3527156ceead43a1305e03f1fc0";

/**
 * Spec 3.4, "the generator g": x_c = OS2IP(SHAKE("MPKSA v1 g", I2OSP(n, B) || I2OSP(c, 4), 2B + 16))
 * mod n^2 for the least counter c with gcd(x_c, n) = 1 and x_c^{2n} != 1; g = x_c^{2n} mod n^2.
 */
export function deriveV1Generator(n) {
  const n2 = n * n;
  const nbytes = Math.ceil(bitLength(n) / 8);
  for (let counter = 0n; ; counter++) {
    const data = Buffer.concat([i2osp(n, nbytes), i2osp(counter, 4)]);
    const x = os2ip(shake(Buffer.from("MPKSA v1 g"), data, 2 * nbytes + 16)) % n2;
    if (gcd(x, n) === 1n) {
      const g = modPow(x, 2n * n, n2);
      if (g !== 1n) return g;
    }
  }
}

/**
 * Spec 3.4, "the test modulus": for X in (P, Q), s_X = OS2IP(SHAKE("MPKSA test modulus " || X,
 * seed, h/8)) and the factor is the smallest prime above s_X OR 3 * 2^(h-2), h = bits / 2.
 */
export function deriveTestModulus(seed, bits) {
  const half = bits / 2;
  return ["P", "Q"].map((label) => {
    const start = os2ip(shake(Buffer.from("MPKSA test modulus " + label), seed, half / 8));
    return nextPrime(start | (3n << BigInt(half - 2)));
  });
}

/** A `v1` parameter set (spec 3.1): the moduli each kind of value lives in. */
export function v1Params(name, n, g, exponentBits, insecure, factors = null) {
  return Object.freeze({
    name,
    profile: "v1",
    n,
    g,
    exponentBits,
    insecure,
    factors,
    n2: n * n,
    modulusBits: bitLength(n),
    exponentBound: 1n << BigInt(exponentBits),
  });
}

const BUILDERS = {
  "v1-rsa2048-short": () => v1Params("v1-rsa2048-short", RSA_2048, rsaGenerator(), 256, false),
  "v1-rsa2048-full": () => v1Params("v1-rsa2048-full", RSA_2048, rsaGenerator(), 2048 + 128, false),
  "v1-test-512": () => {
    const [p, q] = deriveTestModulus(Buffer.from("MPKSA v1-test-512"), 512);
    return v1Params("v1-test-512", p * q, deriveV1Generator(p * q), 128, true, [p, q]);
  },
};
export const PARAMETER_SET_NAMES = Object.freeze(Object.keys(BUILDERS));

let rsaG = null;
function rsaGenerator() {
  rsaG ??= deriveV1Generator(RSA_2048);
  return rsaG;
}

const named = new Map();
/** The named `v1` parameter set, re-derived here from its seed or from n (spec 3.4, 3.6). */
export function parameterSet(name) {
  if (!Object.hasOwn(BUILDERS, name)) {
    fail(CODES.invalidParameters, `unknown parameter set ${JSON.stringify(name)}; known: ${PARAMETER_SET_NAMES.join(", ")}`);
  }
  if (!named.has(name)) named.set(name, BUILDERS[name]());
  return named.get(name);
}

/** Spec 3.6, verify_parameters for `v1`: g follows from n; n is RSA-2048 unless factors are given. */
export function verifyParameters(params) {
  const require = (ok, rule) => ok || fail(CODES.invalidParameters, `parameter set ${params.name}: ${rule}`);
  require(params.g === deriveV1Generator(params.n), "g must follow from n by derive_v1_generator");
  if (params.factors === null) {
    require(sha256(Buffer.from(params.n.toString(10))).toString("hex") === RSA_2048_SHA256, "n must be the RSA-2048 challenge number");
  } else {
    const [p, q] = params.factors;
    require(params.insecure && p * q === params.n, "a modulus with known factors must be flagged insecure");
    require(isProbablePrime(p) && isProbablePrime(q), "the test modulus factors must be prime");
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding (spec chapter 4)

/** Encoding settings (spec 4.1): fixed-point scale 2^f, clipping bound, largest weight, largest |S|. */
export class Encoding {
  constructor(fracBits = 16, clip = 1.0, weightMax = 1n, maxClients = 10n) {
    if (!(Number.isInteger(fracBits) && fracBits >= 0 && fracBits <= 52)) {
      fail(CODES.invalidParameters, `frac_bits = ${fracBits} must lie in [0, 52]`);
    }
    if (!(Number.isFinite(clip) && clip > 0)) fail(CODES.invalidParameters, `clip = ${clip} must be finite and positive`);
    const scaled = clip * 2 ** fracBits; // exact: a binary scaling of a double
    if (!Number.isFinite(scaled)) fail(CODES.invalidParameters, `clip * 2^frac_bits = ${scaled} must be finite`);
    if (Math.floor(scaled) < 1) fail(CODES.invalidParameters, `clip * 2^frac_bits = ${scaled} must be at least 1`);
    if (weightMax < 1n || maxClients < 1n) {
      fail(CODES.invalidParameters, `weight_max = ${weightMax} and max_clients = ${maxClients} must be >= 1`);
    }
    this.fracBits = fracBits;
    this.clip = clip;
    this.weightMax = weightMax;
    this.maxClients = maxClients;
    /** q_max = floor(c * 2^f) (spec 4.1). */
    this.qMax = BigInt(Math.floor(scaled));
    /** V = w_max * q_max: every weighted value and every weight lies in [-V, V]. */
    this.valueBound = weightMax * this.qMax;
    /** b = bitlength(N_max * 2V): the least b with 2^b > N_max * 2V. */
    this.slotBits = bitLength(maxClients * 2n * this.valueBound);
    Object.freeze(this);
  }

  /** k = floor((|n| - 1) / b) >= 1 (spec 4.1). */
  slotsPerSegment(modulusBits) {
    const k = Math.floor((modulusBits - 1) / this.slotBits);
    if (k < 1) fail(CODES.invalidParameters, `a ${this.slotBits}-bit slot does not fit a ${modulusBits}-bit modulus`);
    return k;
  }
}

/** round_half_even of a double, as an exact BigInt (IEEE 754 roundTiesToEven, spec 4.2). */
export function roundHalfEven(y) {
  if (Number.isInteger(y)) return BigInt(y);
  const low = Math.floor(y);
  const fraction = y - low; // exact: y is not an integer, so |y| < 2^52
  if (fraction < 0.5) return BigInt(low);
  if (fraction > 0.5) return BigInt(low + 1);
  return BigInt(low % 2 === 0 ? low : low + 1);
}

/** Spec 4.2: q = max(-q_max, min(q_max, round_half_even(clip_[-c, c](x) * 2^f))). */
export function quantize(values, enc, clip = true) {
  return values.map((x, index) => {
    if (!Number.isFinite(x)) fail(CODES.nonFinite, `value[${index}] = ${x} must be finite`);
    if (Math.abs(x) > enc.clip && !clip) {
      fail(CODES.valueOutOfRange, `value[${index}] = ${x} lies outside [-${enc.clip}, ${enc.clip}]`);
    }
    const clipped = Math.max(-enc.clip, Math.min(enc.clip, x));
    const q = roundHalfEven(clipped * 2 ** enc.fracBits);
    return q > enc.qMax ? enc.qMax : q < -enc.qMax ? -enc.qMax : q;
  });
}

/** Spec 4.3, Eq. (1) carried in the data: (w*q_1, ..., w*q_d, w). */
export function weigh(quantized, weight, enc) {
  if (!(weight >= 1n && weight <= enc.weightMax)) {
    fail(CODES.valueOutOfRange, `weight = ${weight} must be an integer in [1, ${enc.weightMax}]`);
  }
  quantized.forEach((q, index) => {
    if (q < -enc.qMax || q > enc.qMax) {
      fail(CODES.valueOutOfRange, `quantized[${index}] = ${q} lies outside [-${enc.qMax}, ${enc.qMax}]`);
    }
  });
  return [...quantized.map((q) => weight * q), weight];
}

/** Spec 4.4 (finding E6): v + V in [0, 2V]. */
export const offset = (values, enc) => values.map((v) => v + enc.valueBound);

/** Spec 4.5: the super-increasing vector a = (1, 2^b, ..., 2^{(k-1)b}). */
export function radixVector(enc, k) {
  return Array.from({ length: k }, (_, t) => 1n << BigInt(enc.slotBits * t));
}

/** Spec 4.5: a_1 = 1, sum_{j<i} a_j * bound < a_i, sum_j a_j * bound < modulus. */
export function checkSuperIncreasing(a, bound, modulus) {
  if (a.length === 0 || a[0] !== 1n) fail(CODES.invalidParameters, `a must start with a_1 = 1, got ${a.length ? show(a[0]) : "nothing"}`);
  let total = 0n;
  a.forEach((ai, i) => {
    if (i > 0 && total >= ai) fail(CODES.invalidParameters, `a_${i + 1} = ${show(ai)} must exceed sum_(j<${i + 1}) a_j * ${bound} = ${show(total)}`);
    total += ai * bound;
  });
  if (total >= modulus) fail(CODES.invalidParameters, `sum_j a_j * ${bound} = ${show(total)} must be below the modulus`);
}

/** Spec 4.6: u = ceil(len / k) segments of k values; the last may be short. */
export function segments(values, k) {
  const out = [];
  for (let start = 0; start < values.length; start += k) out.push(values.slice(start, start + k));
  return out;
}

/** Spec 4.7, Eq. (2): a_1 * v_1 + ... + a_k * v_k. */
export function pack(values, a) {
  if (values.length > a.length) fail(CODES.dimensionMismatch, `${values.length} values do not fit ${a.length} slots`);
  return values.reduce((sum, v, t) => sum + a[t] * v, 0n);
}

export function packSegments(values, enc, k) {
  return segments(values, k).map((chunk) => pack(chunk, radixVector(enc, chunk.length)));
}

/** Spec 4.7: the client side of `v1`: weigh, offset by V, pack into segments of k slots. */
export function encodeV1(quantized, weight, enc, modulusBits) {
  const slots = offset(weigh(quantized, weight, enc), enc);
  return packSegments(slots, enc, enc.slotsPerSegment(modulusBits));
}

/** Spec 4.8, Algorithm 2: t_k = total; t_{i-1} = t_i mod a_i; nabla_i = (t_i - t_{i-1}) / a_i. */
export function recover(total, a) {
  const out = new Array(a.length).fill(0n);
  let t = total;
  for (let i = a.length - 1; i > 0; i--) {
    const previous = t % a[i];
    out[i] = (t - previous) / a[i];
    t = previous;
  }
  if (a.length > 0) out[0] = t;
  return out;
}

/** Spec 4.8: Algorithm 2 on each segment sum; `count` slots in all, the last segment may be short. */
export function unpackSegments(sums, enc, count, k) {
  const expected = Math.ceil(count / k);
  if (sums.length !== expected) {
    fail(CODES.dimensionMismatch, `${sums.length} segment sums, expected ${expected} for ${count} slots`);
  }
  return sums.flatMap((total, j) => recover(total, radixVector(enc, Math.min(k, count - j * k))));
}

/** Spec 4.9: the server side of `v1`: unpack, check every slot sum, remove |S| * V. */
export function decodeV1(sums, enc, clients, dim, modulusBits) {
  if (clients > enc.maxClients) fail(CODES.slotOverflow, `|S| = ${clients} exceeds max_clients = ${enc.maxClients}`);
  const k = enc.slotsPerSegment(modulusBits);
  const slots = unpackSegments(sums, enc, dim + 1, k);
  const limit = clients * 2n * enc.valueBound;
  slots.forEach((s, index) => {
    if (s < 0n || s > limit) fail(CODES.slotOverflow, `slot[${index}] = ${show(s)} lies outside [0, |S|*2V = ${limit}]`);
  });
  const values = slots.map((s) => s - clients * enc.valueBound);
  // Every weight lies in [1, w_max], so the weight sum lies in [|S|, |S| w_max] (spec 4.9).
  if (values[dim] < clients || values[dim] > clients * enc.weightMax) {
    fail(CODES.slotOverflow, `weight sum ${values[dim]} lies outside [|S|, |S|*weight_max] = [${clients}, ${clients * enc.weightMax}]`);
  }
  return { weightedSums: values.slice(0, dim), weightSum: values[dim] };
}

// ---------------------------------------------------------------------------------------------
// Checks on received elements (spec 5.4)

/** 0 < x < modulus (element-out-of-range) and gcd(x, n) = 1 (non-unit: it would factor n). */
export function checkUnit(x, n, modulus, name) {
  if (!(x > 0n && x < modulus)) fail(CODES.elementOutOfRange, `${name} = ${show(x)} must lie in [1, modulus)`);
  const common = gcd(x, n);
  if (common !== 1n) fail(CODES.nonUnit, `${name} = ${show(x)} must be a unit: gcd(${name}, n) = ${show(common)}`);
  return x;
}

/** An element of the group of g, or a first ciphertext component: both mod n^2 in `v1`. */
export const checkElement = (params, x, name) => checkUnit(x, params.n, params.n2, name);

/**
 * Spec 10.5: an element raised to a secret power (beta, pk_S, a challenge R by a client; pk_i by the
 * server). An element check in every profile; in `v2` also not 1 or n - 1 mod n, since a secret
 * power of such an element reveals the exponent (degenerate-element).
 */
export function checkPowerBase(params, x, name) {
  checkElement(params, x, name);
  if (params.profile === "v2") {
    const residue = x % params.n;
    if (residue === 1n || residue === params.n - 1n) {
      fail(CODES.degenerateElement, `${name} = ${show(x)} is ${residue === 1n ? "1" : "n - 1"} mod n: a secret power of it would reveal the exponent`);
    }
  }
  return x;
}

/** Spec 10.5: in `v2`, second components, challenges and responses exist for the carrier only. */
export function checkCarrierOnly(params, items, name) {
  if (params.profile === "v2") checkLength(items, 1, `${name} (v2: the carrier only)`);
}

/** A secret exponent given as input lies in [1, bound); the message never shows the value (spec 5.4). */
export function checkExponent(params, x, name) {
  if (!(x > 0n && x < params.exponentBound)) fail(CODES.exponentOutOfRange, `${name} must lie in [1, 2^${params.exponentBound.toString(2).length - 1})`);
  return x;
}

export function checkLength(items, expected, name) {
  if (items.length !== expected) fail(CODES.dimensionMismatch, `${name} has ${items.length} entries, expected ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// Randomness replay (spec 5.3): every draw is an explicit input, checked against its range.

export class Replay {
  constructor(values, what) {
    this.values = values;
    this.what = what;
    this.next = 0;
  }

  /** The next recorded exponent, which must lie in [1, bound) (spec 5.3, `exponent`). */
  exponent(bound) {
    if (this.next >= this.values.length) fail(CODES.malformedInput, `${this.what}: replay randomness exhausted after ${this.next} values`);
    const value = this.values[this.next++];
    if (!(value >= 1n && value < bound)) fail(CODES.malformedInput, `${this.what}: replayed value ${show(value)} is not in [1, ${show(bound)})`);
    return value;
  }

  /** All values were used, or the surplus is malformed-input (ops._all_used). */
  finish() {
    if (this.next !== this.values.length) fail(CODES.malformedInput, `more ${this.what} values were given than the operation uses`);
  }
}

// ---------------------------------------------------------------------------------------------
// Protocol (spec chapter 5)

/** Spec 5.5, SysGen of `v1`: one alpha, beta = g^alpha mod n^2. */
export function sysGen(params, alphas) {
  const replay = new Replay(alphas, "alpha");
  const alpha = replay.exponent(params.exponentBound);
  replay.finish();
  return [modPow(params.g, alpha, params.n2)];
}

/** Spec 5.5, KeyGen: pk_i = g^{sk_i} mod n^2, sk_i in [1, 2^l). */
export function keyGen(params, sk) {
  const replay = new Replay([sk], "sk");
  return modPow(params.g, replay.exponent(params.exponentBound), params.n2);
}

/** Spec 5.6, AggPKGen: pk_S = prod pk_i over (id, pk_i) pairs; no id twice; |S| >= 2 in `v1`. */
export function aggPkGen(params, publicKeys) {
  const seen = new Set();
  const repeated = new Set();
  for (const [id] of publicKeys) (seen.has(id) ? repeated : seen).add(id);
  if (repeated.size) {
    const ids = [...repeated].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    fail(CODES.duplicateClientId, `client ids [${ids.join(", ")}] appear more than once in S`);
  }
  if (publicKeys.length < 2) fail(CODES.tooFewClients, `|S| = ${publicKeys.length}; the ${params.profile} profile needs |S| >= 2`);
  let pkS = 1n;
  for (const [id, pk] of publicKeys) pkS = (pkS * checkPowerBase(params, pk, `pk_${id}`)) % params.n2;
  return pkS;
}

/**
 * Spec 5.6, the client's check of pk_S (Alg. 1 lines 5, 6): abort when pk_S = pk_i. With the
 * announced keys of S (hardening against E5, spec 5.13): no key announced twice, own key among
 * them, pk_S their product.
 */
export function checkPkS(params, pkS, pkI, announced = null) {
  checkPowerBase(params, pkS, "pk_S");
  if (pkS === pkI) fail(CODES.singleClientAbort, `pk_S = ${show(pkS)} equals the client's own pk_i: it is alone in S`);
  if (announced === null) return;
  if (new Set(announced).size !== announced.length) {
    fail(CODES.aggregateKeyMismatch, "an announced key appears twice: [pk_i, pk_i] would isolate client i (spec 5.13)");
  }
  if (!announced.includes(pkI)) fail(CODES.aggregateKeyMismatch, `own pk_i = ${show(pkI)} is not among the announced keys of S`);
  const product = aggPkGen(params, announced.map((pk, k) => [k, pk]));
  if (product !== pkS) fail(CODES.aggregateKeyMismatch, `pk_S = ${show(pkS)} is not the product ${show(product)} of the announced keys`);
}

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** Spec 5.6: key_i = SHA-256(I2OSP(shared, ceil(|n^2| / 8))), shared = pk_i^alpha = beta^{sk_i}. */
export function symmetricKey(params, shared) {
  return sha256(i2osp(shared, Math.ceil(bitLength(params.n2) / 8)));
}

/** Spec 5.6: AD = "MPKSA-SE" || profile || I2OSP(round, 8) || I2OSP(client id, 4). */
export function associatedData(params, roundId, clientId) {
  return Buffer.concat([Buffer.from("MPKSA-SE" + params.profile, "ascii"), i2osp(roundId, 8), i2osp(clientId, 4)]);
}

/** Spec 5.6, SE: W_i* = nonce || AES-256-GCM_{key_i}(nonce, W, AD) || tag, key_i = H(pk_i^alpha). */
export function se(params, pkI, alpha, model, roundId, clientId, nonce) {
  checkPowerBase(params, pkI, `pk_${clientId}`);
  checkExponent(params, alpha, "alpha");
  const key = symmetricKey(params, modPow(pkI, alpha, params.n2));
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(params, roundId, clientId));
  const body = Buffer.concat([cipher.update(model), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Spec 5.6, DSE: W = AES-256-GCM^{-1}_{H(beta^{sk_i})}(W_i*, AD); refuses any tampering. */
export function dse(params, beta, sk, sealed, roundId, clientId) {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) fail(CODES.malformedInput, `W_i* must be at least ${NONCE_BYTES + TAG_BYTES} bytes`);
  checkPowerBase(params, beta, "beta");
  checkExponent(params, sk, "sk_i");
  const key = symmetricKey(params, modPow(beta, sk, params.n2));
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(params, roundId, clientId));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return fail(CODES.aeadFailure, `W_i* for client ${clientId}, round ${roundId} fails authentication`);
  }
}

/**
 * Spec 5.7, Enc of `v1`: for each segment j, fresh r_j1 then r_j2 (replayed in that order),
 * E_j1 = (1 + m_j n) beta^{r_j1} mod n^2 and E_j2 = (g^{r_j2}, g^{r_j1} pk_S^{r_j2}) mod n^2.
 */
export function encV1(params, beta, pkS, messages, draws) {
  const replay = new Replay(draws, "r1/r2");
  const ciphertext = encryptSegments(params, beta, pkS, messages, replay);
  replay.finish();
  return ciphertext;
}

/** Spec 5.7: the `v1` segments of `messages`, drawing r_j1 then r_j2 per segment from `replay`. */
export function encryptSegments(params, beta, pkS, messages, replay) {
  const { n, n2, g, exponentBound } = params;
  checkElement(params, beta, "beta");
  checkElement(params, pkS, "pk_S");
  const e1 = [];
  const e2 = [];
  messages.forEach((m, j) => {
    if (!(m >= 0n && m < n)) fail(CODES.valueOutOfRange, `segment m_${j} = ${show(m)} must lie in [0, n)`);
    const r1 = replay.exponent(exponentBound);
    const r2 = replay.exponent(exponentBound);
    e1.push(((1n + m * n) * modPow(beta, r1, n2)) % n2);
    e2.push([modPow(g, r2, n2), (modPow(g, r1, n2) * modPow(pkS, r2, n2)) % n2]);
  });
  return { e1, e2 };
}

/** Spec 5.8, ChelGen: R_j = prod_i g^{r_ij2} mod n^2, one per segment (`v2`: one, the carrier's). */
export function chelGen(params, ciphertexts) {
  if (ciphertexts.length === 0) fail(CODES.tooFewClients, "there are no ciphertexts to challenge: |S| = 0");
  const u = ciphertexts[0].e2.length;
  checkCarrierOnly(params, ciphertexts[0].e2, "E_2 of ciphertext 0");
  const challenge = [];
  for (let j = 0; j < u; j++) {
    let r = 1n;
    ciphertexts.forEach((c, i) => {
      checkLength(c.e2, u, `E_2 of ciphertext ${i}`);
      r = (r * checkElement(params, c.e2[j][0], `g^r2[${i}][${j}]`)) % params.n2;
    });
    challenge.push(r);
  }
  return challenge;
}

/** Spec 5.8, hardening against E4: R_j is the product of the announced g^{r_kj2}, own included. */
export function checkChallenge(params, challenge, announced, own) {
  checkCarrierOnly(params, challenge, "R");
  checkLength(own, challenge.length, "own g^r2");
  announced.forEach((row, k) => checkLength(row, challenge.length, `announced g^r2[${k}]`));
  challenge.forEach((r, j) => {
    const column = announced.map((row) => row[j]);
    if (!column.includes(own[j])) fail(CODES.challengeMismatch, `own g^r2 of segment ${j} is missing from the announced values`);
    let product = 1n;
    column.forEach((a, k) => {
      product = (product * checkElement(params, a, `announced g^r2[${k}][${j}]`)) % params.n2;
    });
    if (product !== r) fail(CODES.challengeMismatch, `R_${j} = ${show(r)} is not the product ${show(product)} of the announced g^r2`);
  });
}

/** Spec 5.9, ResGen: T_ij = R_j^{sk_i} mod n^2, every R_j checked first (`v2`: R_0 only, 10.5). */
export function resGen(params, challenge, sk) {
  checkExponent(params, sk, "sk_i");
  checkCarrierOnly(params, challenge, "R");
  return challenge.map((r, j) => modPow(checkPowerBase(params, r, `R_${j}`), sk, params.n2));
}

/** Spec 5.10, Agg: E_Agg,j = prod_i E_ij1; d_j = prod_i E_ij2[1]; T_j = prod_i T_ij (mod n^2). */
export function agg(params, ciphertexts, responses) {
  if (ciphertexts.length === 0) fail(CODES.tooFewClients, "there are no ciphertexts to aggregate: |S| = 0");
  checkLength(responses, ciphertexts.length, "responses");
  const u = ciphertexts[0].e1.length;
  const w = ciphertexts[0].e2.length;
  checkCarrierOnly(params, ciphertexts[0].e2, "E_2 of ciphertext 0");
  const eAgg = new Array(u).fill(1n);
  const d = new Array(w).fill(1n);
  const t = new Array(w).fill(1n);
  const n2 = params.n2;
  ciphertexts.forEach((c, i) => {
    const ti = responses[i];
    checkLength(c.e1, u, `E_1 of ciphertext ${i}`);
    checkLength(c.e2, w, `E_2 of ciphertext ${i}`);
    checkLength(ti, w, `response ${i}`);
    for (let j = 0; j < u; j++) eAgg[j] = (eAgg[j] * checkElement(params, c.e1[j], `E1[${i}][${j}]`)) % n2;
    for (let j = 0; j < w; j++) {
      d[j] = (d[j] * checkElement(params, c.e2[j][1], `E2[${i}][${j}]`)) % n2;
      t[j] = (t[j] * checkElement(params, ti[j], `T[${i}][${j}]`)) % n2;
    }
  });
  return { eAgg, d, t };
}

/** Spec 5.11: L(x) = (x - 1) / n, defined only for x = 1 mod n. */
export function lFunction(x, n) {
  if (x % n !== 1n) fail(CODES.lInput, `L input ${show(x)} must be 1 mod n, but is ${show(x % n)} mod n`);
  return (x - 1n) / n;
}

/** Spec 5.11, check_aggregate: one (d, T) per segment in `v1`, every element a unit. */
export function checkAggregate(params, alphas, aggregate, segmentCount) {
  alphas.forEach((alpha, j) => checkExponent(params, alpha, `alpha_${j + 1}`));
  checkLength(aggregate.t, aggregate.d.length, "T");
  if (aggregate.d.length !== 1 && aggregate.d.length !== segmentCount) checkLength(aggregate.d, segmentCount, "d");
  aggregate.eAgg.forEach((e, j) => checkElement(params, e, `E_Agg[${j}]`));
  aggregate.d.forEach((d, j) => {
    checkElement(params, d, `d[${j}]`);
    checkElement(params, aggregate.t[j], `T[${j}]`);
  });
}

/** Spec 5.11, Dec of `v1`: M_j = L(E_Agg,j * (d_j * T_j^{-1})^{-alpha} mod n^2). */
export function decV1(params, alphas, aggregate) {
  checkLength(alphas, 1, "alpha");
  checkLength(aggregate.d, aggregate.eAgg.length, "d");
  checkAggregate(params, alphas, aggregate, aggregate.eAgg.length);
  const { n, n2 } = params;
  const alpha = alphas[0];
  return aggregate.eAgg.map((e, j) => {
    // (d_j T_j^{-1})^{-alpha} = (T_j d_j^{-1})^{alpha}: one inverse, a positive exponent.
    const unmask = modPow((aggregate.t[j] * modInverse(aggregate.d[j], n2)) % n2, alpha, n2);
    return lFunction((e * unmask) % n2, n);
  });
}

// ---------------------------------------------------------------------------------------------
// The hardening (spec 5.4 and 5.14)

/** Spec 5.4, hardening against E8: a beta, pk_S or R_j whose residue mod n is 0, 1 or n - 1 is refused. */
export function checkNondegenerate(params, x, name) {
  checkElement(params, x, name);
  const residue = x % params.n;
  if (residue === 0n || residue === 1n || residue === params.n - 1n) {
    fail(CODES.degenerateElement, `${name} = ${show(x)} is ${show(residue)} mod n: an element of +-<1 + n> is refused`);
  }
  return x;
}

export const PROOF_CHALLENGE_BITS = 128n;
export const STATEMENT_KINDS = Object.freeze(["key", "server key", "g^r2"]);

/** Spec 5.14: the nonce k lies in [1, 2^(l + 256)); the response z in [0, 2^(l + 257)). */
export const proofNonceBits = (params) => BigInt(params.exponentBits) + 256n;
export const proofResponseBound = (params) => 1n << (proofNonceBits(params) + 1n);

const lengthPrefixed = (bytes) => Buffer.concat([i2osp(BigInt(bytes.length), 2), bytes]);

/** Spec 5.14, the statement's context: kind, name, round (8 bytes), client id, index, |S|, sorted S. */
export function statementContext(params, statement) {
  if (!STATEMENT_KINDS.includes(statement.kind)) {
    fail(CODES.malformedInput, `statement kind ${JSON.stringify(statement.kind)} must be one of ${STATEMENT_KINDS.join(", ")}`);
  }
  const online = [...statement.online].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (online.some((id, j) => j > 0 && id === online[j - 1])) fail(CODES.malformedInput, "the set S of a statement repeats an id");
  return Buffer.concat([
    lengthPrefixed(Buffer.from(statement.kind, "ascii")), lengthPrefixed(Buffer.from(params.name, "ascii")),
    i2osp(statement.round, 8), i2osp(statement.clientId, 4), i2osp(statement.index, 4),
    i2osp(BigInt(online.length), 4), ...online.map((id) => i2osp(id, 4)),
  ]);
}

/** Spec 5.14: c = SHAKE-256("MPKSA proof of knowledge", |context| || context || g || y || t), 16 bytes. */
function proofChallenge(params, context, y, t) {
  const size = Math.ceil(bitLength(params.n2) / 8);
  const data = Buffer.concat([lengthPrefixed(context), ...[params.g, y, t].map((v) => i2osp(v, size))]);
  return os2ip(shake(Buffer.from("MPKSA proof of knowledge"), data, Number(PROOF_CHALLENGE_BITS) / 8));
}

/** Spec 5.14, Prove: y = g^x and (c, z = k + c*x) for the nonce k. */
export function prove(params, statement, x, k) {
  checkExponent(params, x, "x");
  const context = statementContext(params, statement);
  const y = modPow(params.g, x, params.n2);
  const c = proofChallenge(params, context, y, modPow(params.g, k, params.n2));
  return { y, c, z: k + c * x };
}

/** Spec 5.14, CheckProof: z in range, and hashing t = g^z * y^(-c) gives c back. */
export function checkProof(params, statement, y, { c, z }) {
  checkElement(params, y, "element");
  const context = statementContext(params, statement);
  if (c >= 1n << PROOF_CHALLENGE_BITS || z >= proofResponseBound(params)) fail(CODES.proofInvalid, "the proof's c or z is out of range");
  const t = (modPow(params.g, z, params.n2) * modPow(modInverse(y, params.n2), c, params.n2)) % params.n2;
  if (proofChallenge(params, context, y, t) !== c) fail(CODES.proofInvalid, `the proof of knowledge for ${show(y)} does not verify`);
}
