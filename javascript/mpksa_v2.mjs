// MPKSA profile `v2` (compact) in JavaScript, written from the specification (spec/ chapter 10) alone.
//
// `v2` keeps everything of `v1` (mpksa_v1.mjs: the group, SysGen, KeyGen, AggPKGen, SE, DSE, the
// encoding, ChelGen, CheckChallenge, ResGen, Agg, which run the extra checks of spec 10.5 when the
// params say `v2`) and changes Enc and Dec: one mask exponent r_i per client and round masks every
// segment under a hashed base h_j, and one `v1` segment, the carrier, delivers r_i to the server.
//
// Not constant-time, not audited: a second implementation for conformance testing only.
import { createHash } from "node:crypto";
import * as v1 from "./mpksa_v1.mjs";

const { CODES, MpksaError, modPow, modInverse, gcd, i2osp, os2ip, shake, show, bitLength } = v1;

const fail = (code, message) => {
  throw new MpksaError(code, message);
};

// ---------------------------------------------------------------------------------------------
// Parameters (spec 10.2)

/** Client ids and |S| lie below 2^32, so the mask sum R of any S is below 2^(L+32) (spec 10.2). */
export const MAX_CLIENT_BITS = 32;

/** A `v2` parameter set: a `v1` set (n, g, l) plus L, the bit length of the mask exponents r_i. */
export function v2Params(name, n, g, exponentBits, maskBits, insecure, factors = null) {
  return Object.freeze({
    ...v1.v1Params(name, n, g, exponentBits, insecure, factors),
    profile: "v2",
    maskBits,
    /** r_i is drawn from [1, 2^L). */
    maskBound: 1n << BigInt(maskBits),
  });
}

const BUILDERS = {
  // Spec 10.2: n and g as v1-rsa2048-short (l = 256), L = 288; as v1-test-512 (l = 128), L = 192.
  "v2-rsa2048": () => {
    const { n, g } = v1.parameterSet("v1-rsa2048-short");
    return v2Params("v2-rsa2048", n, g, 256, 288, false);
  },
  "v2-test-512": () => {
    const { n, g, factors } = v1.parameterSet("v1-test-512");
    return v2Params("v2-test-512", n, g, 128, 192, true, factors);
  },
};
export const PARAMETER_SET_NAMES = Object.freeze(Object.keys(BUILDERS));

const named = new Map();
/** The named `v2` parameter set (spec 10.2), built from the re-derived `v1` group. */
export function parameterSet(name) {
  if (!Object.hasOwn(BUILDERS, name)) {
    fail(CODES.invalidParameters, `unknown v2 parameter set ${JSON.stringify(name)}; known: ${PARAMETER_SET_NAMES.join(", ")}`);
  }
  if (!named.has(name)) named.set(name, BUILDERS[name]());
  return named.get(name);
}

/** Spec 3.6 for `v2`: the `v1` rules, L + 32 < |n|, and L >= 288 unless flagged insecure. */
export function verifyParameters(params) {
  v1.verifyParameters(params);
  const require = (ok, rule) => ok || fail(CODES.invalidParameters, `parameter set ${params.name}: ${rule}`);
  require(params.maskBits + MAX_CLIENT_BITS < params.modulusBits, `L + ${MAX_CLIENT_BITS} must be below |n|, so that the mask sum of any S stays below n`);
  require(params.insecure || params.maskBits >= 288, "a secure v2 set needs L >= 288 (spec 10.2)");
}

// ---------------------------------------------------------------------------------------------
// The segment bases (spec 10.3)

export const BASE_LABEL = Buffer.from("MPKSA v2 h", "ascii");

/** x_{j,c} = OS2IP(SHAKE("MPKSA v2 h", I2OSP(n, B) || I2OSP(j, 4) || I2OSP(c, 4), B + 16)) mod n, B = ceil(|n| / 8). */
export function baseCandidate(n, j, counter) {
  const nbytes = Math.ceil(bitLength(n) / 8);
  const data = Buffer.concat([i2osp(n, nbytes), i2osp(j, 4), i2osp(counter, 4)]);
  return os2ip(shake(BASE_LABEL, data, nbytes + 16)) % n;
}

/** h_j = x_{j,c}^{2n} mod n^2 for the least counter c with gcd(x_{j,c}, n) = 1 and h_j != 1. */
export function deriveSegmentBase(n, j) {
  if (!(j >= 1n && j < 1n << 32n)) fail(CODES.invalidParameters, `segment number j = ${j} must lie in [1, 2^32)`);
  for (let counter = 0n; ; counter++) {
    const x = baseCandidate(n, j, counter);
    if (gcd(x, n) === 1n) {
      const h = modPow(x, 2n * n, n * n);
      if (h !== 1n) return h;
    }
  }
}

const baseCache = new Map(); // n -> [h_1, h_2, ...]; public values, the same for every set on n

/** (h_1, ..., h_count) for the modulus of `params`: the missing ones derived now, all kept (spec 10.3). */
export function segmentBases(params, count) {
  if (!baseCache.has(params.n)) baseCache.set(params.n, []);
  const cached = baseCache.get(params.n);
  while (cached.length < count) cached.push(deriveSegmentBase(params.n, BigInt(cached.length + 1)));
  return cached.slice(0, count);
}

// ---------------------------------------------------------------------------------------------
// Enc (spec 10.4)

/** Spec 10.5: a mask exponent r_i lies in [1, 2^L); the message names the range, never the value. */
export function checkMaskExponent(params, x, name) {
  if (!(x > 0n && x < params.maskBound)) fail(CODES.exponentOutOfRange, `${name} must lie in [1, 2^${params.maskBits})`);
  return x;
}

/**
 * Spec 10.4: C_ij = (1 + m_ij n) h_j^{r_i} mod n^2 for j = 1..u, then the carrier, the `v1` segment
 * of the plaintext r_i: e1 = (E_i01, C_i1, ..., C_iu), e2 = ((g^{r_i02}, g^{r_i01} pk_S^{r_i02})).
 * Everything is checked before the first draw; the draws are replayed as r, r_i01, r_i02.
 */
export function encV2(params, beta, pkS, messages, draws) {
  const { n, n2 } = params;
  v1.checkPowerBase(params, beta, "beta");
  v1.checkPowerBase(params, pkS, "pk_S");
  if (messages.length === 0) fail(CODES.dimensionMismatch, "there are no segments to encrypt: u must be at least 1");
  messages.forEach((m, j) => {
    if (!(m >= 0n && m < n)) fail(CODES.valueOutOfRange, `segment m_${j + 1} = ${show(m)} must lie in [0, n)`);
  });
  const replay = new v1.Replay(draws, "r/r1/r2");
  const r = replay.exponent(params.maskBound);
  const bases = segmentBases(params, messages.length);
  const data = messages.map((m, j) => ((1n + m * n) * modPow(bases[j], r, n2)) % n2);
  const carrier = v1.encryptSegments(params, beta, pkS, [r], replay);
  replay.finish();
  return { e1: [carrier.e1[0], ...data], e2: carrier.e2 };
}

// ---------------------------------------------------------------------------------------------
// Dec (spec 10.6)

/**
 * Spec 10.6: R must be what |S| mask exponents in [1, 2^L) sum to, |S| <= R <= |S| (2^L - 1), and
 * that range must lie below n. R is secret: no message names it.
 */
export function checkMaskSum(params, maskSum, clients) {
  if (clients < 2n) fail(CODES.tooFewClients, `|S| = ${clients}; the v2 profile needs |S| >= 2`);
  const top = clients * (params.maskBound - 1n);
  if (top >= params.n) fail(CODES.invalidParameters, `|S| = ${clients} mask exponents of ${params.maskBits} bits can sum to n or more`);
  if (!(maskSum >= clients && maskSum <= top)) {
    fail(CODES.maskSumOutOfRange, `the carrier decrypts to a mask sum outside [|S|, |S|*(2^L - 1)] for |S| = ${clients}, L = ${params.maskBits}`);
  }
  return maskSum;
}

/**
 * Spec 10.6: R = Dec_v1 of the carrier (index 0), checked against |S| = `clients`, then
 * M_j = L(E_Agg,j * h_j^{-R} mod n^2) for j = 1..u, with h_j^{-R} computed as (h_j^{-1})^R.
 */
export function decV2(params, alphas, aggregate, clients) {
  v1.checkLength(alphas, 1, "alpha");
  v1.checkLength(aggregate.d, 1, "d (v2: the carrier only)");
  if (aggregate.eAgg.length < 2) {
    fail(CODES.dimensionMismatch, `E_Agg has ${aggregate.eAgg.length} entries, expected the carrier and at least one segment`);
  }
  v1.checkAggregate(params, alphas, aggregate, aggregate.eAgg.length);
  let maskSum;
  try {
    [maskSum] = v1.decV1(params, alphas, { eAgg: aggregate.eAgg.slice(0, 1), d: aggregate.d, t: aggregate.t });
  } catch (error) {
    if (error instanceof MpksaError && error.code === CODES.lInput) {
      fail(CODES.carrierDecryptionFailed, "the carrier's L input is not 1 mod n: wrong alpha, or the carriers, d and T of S do not belong together");
    }
    throw error;
  }
  checkMaskSum(params, maskSum, clients);
  const { n, n2 } = params;
  const bases = segmentBases(params, aggregate.eAgg.length - 1);
  return aggregate.eAgg.slice(1).map((e, j) => v1.lFunction((e * modPow(modInverse(bases[j], n2), maskSum, n2)) % n2, n));
}

// ---------------------------------------------------------------------------------------------
// A mask exponent is never reused (spec 10.7)

/**
 * A client-side record of every mask exponent used, as SHA-256 of I2OSP(r, ceil(L/8)); a second use
 * is refused with exponent-reused. Only digests are kept, never r itself.
 */
export class MaskGuard {
  constructor(params) {
    this.params = params;
    this.used = new Set();
  }

  /** Record r as used, or refuse it if it was used before (the value is not named). */
  admit(r) {
    checkMaskExponent(this.params, r, "r_i");
    const digest = createHash("sha256").update(i2osp(r, Math.ceil(this.params.maskBits / 8))).digest("hex");
    if (this.used.has(digest)) {
      fail(CODES.exponentReused, "this mask exponent r_i was used before; two uploads under one r_i reveal the difference of their segments, so draw a fresh one");
    }
    this.used.add(digest);
  }
}
