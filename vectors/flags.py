"""The flag registry of the test vectors (Wycheproof-style `notes`).

Every test carries flags; every vector file registers exactly the flags its
tests use, each with a description, a reference (a finding E1..E10 of the
review, Theorem 3 or 4 of the paper, or a paper/spec section) and the effect
an implementation must show. `verify` checks both directions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    description: str
    reference: str
    effect: str

    def as_json(self) -> dict[str, str]:
        return {"description": self.description, "reference": self.reference, "effect": self.effect}


_ACCEPT = "the operation succeeds with exactly the recorded outputs"

FLAGS: dict[str, Flag] = {
    # -- ordinary operation -------------------------------------------------------------------
    "Normal": Flag("Ordinary, well-formed input.", "spec 6.6", _ACCEPT),
    "EdgeExponent": Flag("An exponent at the edge of its range: 1 or bound - 1.", "spec 3.5; review C.6", _ACCEPT),
    "MultiSegment": Flag("More than one packed segment per client (u > 1).", "Sec. 3.4; spec 4.6", _ACCEPT),
    "SegmentShortLast": Flag("dim + 1 is not a multiple of k: the last segment holds fewer than k slots.",
                             "Sec. 3.4; spec 4.6", _ACCEPT),
    "SegmentFull": Flag("dim + 1 is a multiple of k: the last segment is full.", "Sec. 3.4; spec 4.6",
                        _ACCEPT),
    "SingleSlotSegment": Flag("An encoding whose slot width leaves k = 1 slot per segment.",
                              "Sec. 3.4; spec 4.6", _ACCEPT),
    "Weighted": Flag("A client weight |D_i| > 1 carried in the data (Eq. (1)).", "Eq. (1); spec 4.3",
                     _ACCEPT),
    "NegativeValues": Flag("Signed gradient values; v1 offsets them by V.", "E6; review C.8", _ACCEPT),
    "RoundHalfEven": Flag("x * 2^f lies exactly between two integers: ties round to even.",
                          "spec 4.2", _ACCEPT),
    "Clipped": Flag("A value beyond +-clip is clipped to +-clip before scaling.", "spec 4.2",
                    _ACCEPT),
    "SlotLimit": Flag("Slot sums exactly at the limit |S| * 2V (|S| = max_clients, every value at +clip or -clip).",
                      "spec 4.9; review C.8", _ACCEPT),
    "GeneralSuperIncreasing": Flag("Algorithm 2 with a super-increasing vector a that is not a power-of-two radix.",
                                   "Sec. 3.1, Algorithm 2; spec 4.8", _ACCEPT),
    "EmptyModel": Flag("SE of an empty model W.", "Sec. 3.2; spec 5.6", _ACCEPT),
    "Hardened": Flag("Hardening outside the paper's model: announced keys or announced g^r2 are checked.",
                     "spec 5.13; review C.9", _ACCEPT),
    "ProofOfKnowledge": Flag("A proof of knowledge of x with y = g^x, bound to its statement (a key, the server key, "
                             "or a g^r2 of one round, set S, client and segment).", "spec 5.14; E8, E9, E10",
                             _ACCEPT),
    "Dropout": Flag("Clients dropped out before S was fixed; they take no part in the round.", "Theorem 4",
                    _ACCEPT),
    "WholeRound": Flag("A whole round of Algorithm 1 through the wire operations.", "Algorithm 1; spec 5.12", _ACCEPT),
    "Collusion": Flag("The server colludes with |S| - 2 clients; the vector records what the coalition obtains "
                      "(the pair sum) and that the individual value stays hidden.", "Theorem 3",
                      "the round succeeds; the intermediates record the coalition's view"),
    # -- rejections ---------------------------------------------------------------------------
    "NonUnit": Flag("A group element that shares a factor with n (or p): gcd(x, n) > 1.", "spec 5.4; review C.7",
                    "the operation fails with non-unit"),
    "ZeroElement": Flag("A group element equal to 0.", "spec 5.4; review C.7", "the operation fails with element-out-of-range"),
    "ElementTooLarge": Flag("A group element at or above its modulus (n^2, p or p^2).", "spec 5.4; review C.7",
                            "the operation fails with element-out-of-range"),
    "LInputNotOne": Flag("The value fed to L(x) = (x - 1) / n is not 1 mod n (wrong alpha or mismatched masks).",
                         "spec 5.4; review C.7", "Dec fails with l-input-not-one-mod-n"),
    "ExponentOutOfRange": Flag("An explicit exponent (alpha, sk, r) equal to 0 or at/above its bound.",
                               "spec 3.5, 5.4; review C.6", "the operation fails with exponent-out-of-range"),
    "RandomnessCount": Flag("More or fewer explicit random values than the operation draws.", "spec 6.6",
                            "the operation fails with malformed-input or dimension-mismatch"),
    "TamperedTag": Flag("The GCM tag of W_i* was changed.", "Sec. 3.2; spec 5.6; E7", "DSE fails with aead-failure"),
    "TamperedNonce": Flag("The nonce of W_i* was changed.", "Sec. 3.2; spec 5.6; E7", "DSE fails with aead-failure"),
    "TamperedBody": Flag("The encrypted body of W_i* was changed.", "Sec. 3.2; spec 5.6; E7", "DSE fails with aead-failure"),
    "WrongRound": Flag("DSE with a round number other than the one bound at SE (associated data).", "E7",
                       "DSE fails with aead-failure"),
    "WrongClientId": Flag("DSE with a client id other than the one bound at SE (associated data).", "E7",
                          "DSE fails with aead-failure"),
    "WrongKey": Flag("DSE with another client's secret key.", "Sec. 3.2; spec 5.6", "DSE fails with aead-failure"),
    "ShortSealed": Flag("W_i* shorter than nonce + tag.", "Sec. 3.2; spec 5.6", "DSE fails with malformed-input"),
    "BadNonceLength": Flag("An SE nonce that is not 12 bytes.", "Sec. 3.2; spec 5.6; E7", "SE fails with malformed-input"),
    "SingleClient": Flag("|S| = 1: pk_S equals the client's own pk_i.", "Sec. 3.2; Theorem 4",
                         "the paper accepts AggPKGen; CheckPkS fails with single-client-abort"),
    "TooFewClients": Flag("|S| of 0, or of 1 in v1.", "review C.9; Theorem 4", "the operation fails with too-few-clients"),
    "DuplicateClientId": Flag("A client id appears twice in S.", "Sec. 3.2; spec 5.6", "AggPKGen fails with duplicate-client-id"),
    "ForgedPkS": Flag("The server sends pk_S = pk_i * g^x instead of the product of S's keys.", "E5",
                      "without announced keys the check cannot see it (acceptable); with them CheckPkS fails "
                      "with aggregate-key-mismatch"),
    "SybilClient": Flag("S holds a client the server controls.", "E5",
                        "no check can see it: only a minimum |S| limits the damage"),
    "PkINotAnnounced": Flag("The client's own pk_i is missing from the announced keys.", "E5; review C.9",
                            "CheckPkS fails with aggregate-key-mismatch"),
    "CraftedChallenge": Flag("The server sends R = g^{r_2} of one target client instead of the product over S.",
                             "E4", "ResGen answers (acceptable: it cannot see it); CheckChallenge fails with "
                             "challenge-mismatch"),
    "ChallengeOwnMissing": Flag("The client's own g^r2 is missing from the announced values.", "E4; review C.9",
                                "CheckChallenge fails with challenge-mismatch"),
    "ProofWrongContext": Flag("A valid proof checked under another statement: another client, segment, set S or kind.",
                              "spec 5.14; E9", "CheckProof fails with proof-invalid"),
    "ProofReplay": Flag("A proof from another round presented in this one.", "spec 5.14; E9",
                        "CheckProof fails with proof-invalid"),
    "ProofWrongExponent": Flag("A proof made with an exponent other than the discrete logarithm of the element.",
                               "spec 5.14; E9, E10", "CheckProof fails with proof-invalid"),
    "ProofJunkElement": Flag("An element outside <g>, (1 + n) * g^x, with the proof made for g^x.", "spec 5.14; E8",
                             "CheckProof fails with proof-invalid"),
    "ProofOutOfRange": Flag("A proof whose response z is at or above the bound 2^(|x| + 257).", "spec 5.14",
                            "CheckProof fails with proof-invalid"),
    "DegenerateElement": Flag("A received beta, pk_S, challenge R or (v2) a client's pk_i whose value mod n is 0, 1 or "
                              "n - 1: +-1 times an element of <1 + n>, a secret power of which would reveal the "
                              "exponent.", "spec 5.4, 10.5; E8; compact-profile note B",
                              "the operation fails with degenerate-element: CheckElement with v1's hardening, every "
                              "operation that receives such an element in v2"),
    "NonFinite": Flag("NaN, +Infinity or -Infinity as a gradient value.", "spec 4.2",
                      "Quantize fails with non-finite-value"),
    "OutOfRange": Flag("A value outside the range the encoding can represent.", "spec 4.2, 4.3, 5.7",
                       "the operation fails with value-out-of-range"),
    "SlotOverflow": Flag("A slot sum above |S| * 2V, or |S| above max_clients: a slot would carry.", "spec 4.9; E6",
                         "Decode fails with slot-overflow"),
    "NotSuperIncreasing": Flag("A vector a that breaks the rules of Sec. 3.1 (a_1 = 1, super-increasing, "
                               "sum below the modulus).", "Sec. 3.1; spec 4.5", "Recover fails with invalid-parameters"),
    "DimensionMismatch": Flag("Lists that must agree in length do not.", "spec 6.6",
                              "the operation fails with dimension-mismatch"),
    "MalformedHex": Flag("Hex that is not lowercase, not whole bytes, or of the wrong fixed length.",
                         "spec 6.6", "the operation fails with malformed-input"),
    "MalformedType": Flag("A JSON value of the wrong type (string for number, object for list, ...).",
                          "spec 6.6", "the operation fails with malformed-input"),
    "DropoutAfterUpload": Flag("A client of S drops out after upload: its response never comes and the round "
                               "cannot finish (the transcript's `abort` marker says so).", "E7; Theorem 4",
                               "Agg fails (dimension-mismatch, or l-input-not-one-mod-n in Dec when the server "
                               "drops the ciphertext too); the round must be re-run"),
    # -- errata: what the printed scheme does ----------------------------------------------------
    "PaperDecryptionIncorrect": Flag("The printed Dec returns M + R*lambda(beta) - alpha*lambda(d/T) mod p, not the "
                                     "sum M; the intermediates hold both.", "E1",
                                     "a paper implementation returns the recorded (wrong) sums"),
    "LiftedProjection": Flag("Lifting the masks into the order-q subgroup decrypts, but then anyone recovers m "
                             "from E_i1 and public values.", "E2", "the intermediates hold the recovered m"),
    "LambdaProjection": Flag("The public projection lambda(E_i1) = m + r_i1*lambda(beta) of a literal paper "
                             "ciphertext (and its absence in v1).", "E2", "the intermediates hold the projection"),
    "CrossSegmentRelation": Flag("Shared r_i1 across segments: C_i1^alpha_2 * C_i2^-alpha_1 reveals "
                                 "alpha_2*m_1 - alpha_1*m_2.", "E3", "the intermediates hold the relation"),
    "NoCrossSegmentRelation": Flag("v1's fresh r_ij1 per segment: the same combination reveals nothing.", "E3",
                                   "the intermediates show the relation fails"),
    "NegativeDecodeWrong": Flag("Eq. (2) and Algorithm 2 without offset decode signed values wrongly.", "E6",
                                "a paper implementation returns the recorded (wrong) values"),
    "RerunDifference": Flag("A re-run of the same update for S minus {j} reveals client j's update by difference.",
                            "E7", "the intermediates hold the difference"),
    "JunkChallenge": Flag("The server sends R = (1 + n) * g^y (or -g^y): T_i = R^sk_i reveals sk_i (or its parity).",
                          "E8", "ResGen answers (acceptable: it cannot see it); a hardened client refuses an R that is "
                          "not the product of proven announced values"),
    "JunkServerKey": Flag("The server key beta = 1 + n: L(E_ij1) = m_ij + r_ij1 exposes every segment above the "
                          "exponent's bits.", "E8", "Enc answers (acceptable: it cannot see it); CheckElement fails "
                          "with degenerate-element"),
    "JunkServerKeyRefused": Flag("v2: the server key beta = 1 + 2^L * n, 1 mod n. Without v2's check the carrier "
                                 "would give L(E_i01) = r_i + 2^L * r_i01: r_i, and with it every segment.",
                                 "E8; spec 10.5", "Enc fails with degenerate-element"),
    "SignServerKey": Flag("The server key beta = -g^alpha: DSE fails exactly for an odd sk_i, and a proof forged "
                          "from alpha verifies.", "E8; spec 5.14", "DSE fails with aead-failure for an odd sk_i; "
                          "CheckProof accepts the forged proof: only an even sk_i closes the oracle"),
    "RogueAnnouncedValue": Flag("A colluding client announces a g^r2 chosen after all others, so that R is the "
                                "server's choice.", "E9", "CheckChallenge passes (the product matches); CheckProof "
                                "of the rogue value fails with proof-invalid"),
    "RogueKey": Flag("A colluding client registers pk_c = g^x * prod pk_k^-1, so that pk_S = g^x.", "E9",
                     "CheckPkS passes against the announced keys; CheckProof of the rogue key fails with proof-invalid"),
    "CancellingClient": Flag("A colluding client's upload cancels an honest client's: the sum lacks it.", "E10",
                             "Decode returns the sum without the victim; CheckProof of the colluder's g^r2 fails with "
                             "proof-invalid"),
    "ToyGroup": Flag("A tiny explicit group (p = 23) from the review's smallest counterexample.", "E1",
                     _ACCEPT),
    # -- profile v2 (spec chapter 10) ------------------------------------------------------------
    "MaskExponent": Flag("v2: the mask exponent r as an explicit input, drawn before the carrier's r1, r2.",
                         "spec 10.4, 10.8", "Enc fails with exponent-out-of-range or malformed-input when r is "
                         "0, missing or of the wrong length; otherwise it succeeds with the recorded outputs"),
    "CarrierOnly": Flag("v2: second components, challenges and responses exist for the carrier only; a list "
                        "with another count is refused.", "spec 10.5", "the operation fails with dimension-mismatch"),
    "CarrierNotDecrypted": Flag("v2: the carrier's L input is not 1 mod n (wrong alpha, or carriers, d and T that "
                                "do not belong together).", "spec 10.6", "Dec fails with carrier-decryption-failed"),
    "MaskSumOutOfRange": Flag("v2: the carrier decrypts to a mask sum R that |S| exponents in [1, 2^L) cannot "
                              "sum to.", "spec 10.6", "Dec fails with mask-sum-out-of-range"),
    "FreshRerun": Flag("v2: a round re-run after an abort, with the aborted round's keys but fresh updates and "
                       "fresh randomness; intermediates.rerun_of names the aborted transcript.", "spec 10.7; E7",
                       "the round succeeds; no mask exponent of the aborted round appears again"),
    "ReusedMaskExponent": Flag("v2: two uploads of one client under the same mask exponent r_i: anyone reads "
                               "m_ij - m'_ij, and the client's MaskGuard refuses the second use.", "spec 10.7; E7",
                               "the Enc operations succeed; the finding holds the differences"),
    "StructuredBases": Flag("v2: bases derived with a known multiplicative structure (x_j = x * j) instead of "
                            "hashed: h_1 * h_4 = h_2^2 gives m_1 + m_4 - 2*m_2 to anyone.", "spec 10.3, 10.9; E3",
                            "the intermediates hold the relation on structured bases and its absence on hashed ones"),
    "ProjectionFailsV2": Flag("v2: the E2 projection with the public exponents (n-1)/2, n-1 and n, on the carrier and "
                              "on a masked segment: L refuses (the orders of beta and h_j need the factors of n).",
                              "E2; spec 10.9", "the Enc succeeds; the finding holds the refused projections"),
    "NoRelationHashedBases": Flag("v2: two segments of one client under hashed bases: no combination, even with the "
                                  "true difference guessed, passes L.", "E3; spec 10.9",
                                  "the Enc succeeds; the finding holds the refused combinations"),
}


def registry(used: set[str]) -> dict[str, dict[str, str]]:
    """The `notes` object of a file that uses exactly `used`."""
    unknown = sorted(used - FLAGS.keys())
    if unknown:
        raise KeyError(f"flags {unknown} are not in the registry")
    return {name: FLAGS[name].as_json() for name in sorted(used)}
