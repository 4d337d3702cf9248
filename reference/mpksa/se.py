"""SE / DSE (Sec. 3.2): the model W travels under AES-256-GCM with key_i = H(g^{alpha*sk_i}).

H is SHA-256 of the fixed-length big-endian encoding of the shared element.
key_i is static across rounds, so every SE draws a fresh 96-bit nonce and binds
the round and the client id as associated data (finding E7).
"""

from __future__ import annotations

import hashlib

import gmpy2
from Crypto.Cipher import AES

from .errors import AeadError, MalformedInputError
from .params import Params, i2osp
from .randomness import SYSTEM_RANDOM, RandomSource
from .validate import check_exponent, check_power_base

NONCE_BYTES = 12
TAG_BYTES = 16


def symmetric_key(params: Params, shared: int) -> bytes:
    """key_i = SHA-256(I2OSP(shared, |modulus| bytes)), shared = pk_i^alpha = beta^{sk_i}."""
    return hashlib.sha256(i2osp(shared, (params.group_modulus.bit_length() + 7) // 8)).digest()


def associated_data(params: Params, round_id: int, client_id: int) -> bytes:
    """"MPKSA-SE" || profile || I2OSP(round, 8) || I2OSP(client id, 4)."""
    return b"MPKSA-SE" + params.profile.encode() + i2osp(round_id, 8) + i2osp(client_id, 4)


def se(params: Params, pk_i: int, alpha: int, model: bytes, round_id: int, client_id: int,
       rng: RandomSource = SYSTEM_RANDOM) -> bytes:
    """W_i* = nonce || AES-256-GCM_{key_i}(W) || tag, key_i = H(pk_i^alpha)."""
    check_power_base(params, pk_i, f"pk_{client_id}")
    check_exponent(params, alpha, "alpha")
    key = symmetric_key(params, int(gmpy2.powmod_sec(pk_i, alpha, params.group_modulus)))
    nonce = rng.token_bytes(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(associated_data(params, round_id, client_id))
    body, tag = cipher.encrypt_and_digest(model)
    return nonce + body + tag


def dse(params: Params, beta: int, sk_i: int, sealed: bytes, round_id: int, client_id: int) -> bytes:
    """W = DSE(beta, H, sk_i, W_i*), key_i = H(beta^{sk_i}). Refuses any tampering."""
    if not isinstance(sealed, bytes) or len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise MalformedInputError(f"W_i* must be at least {NONCE_BYTES + TAG_BYTES} bytes")
    check_power_base(params, beta, "beta")
    check_exponent(params, sk_i, "sk_i")
    key = symmetric_key(params, int(gmpy2.powmod_sec(beta, sk_i, params.group_modulus)))
    nonce, body, tag = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(associated_data(params, round_id, client_id))
    try:
        return cipher.decrypt_and_verify(body, tag)
    except ValueError:
        raise AeadError(f"W_i* for client {client_id}, round {round_id} fails authentication") from None
