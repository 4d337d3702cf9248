"""The findings E1..E10 and Theorem 3, shown with concrete numbers (spec chapter 7), and the
findings checked on profile `v2` (spec 10.9, module `v2`). The active attacks E8 to E10 take a
`v1` or a `v2` parameter set alike (through the carrier in `v2`), except the server key of E8,
which `v2` refuses always (`e8_junk_server_key_v2` shows what that check prevents).

One module per finding, and one for `v2`. Each demonstration draws every random value from `rng` (in the
order its docstring states) and replays them into the reference: whole rounds through
`mpksa.round.run_round`, whose `Network` lets an active server record and substitute
messages; single operations (E2, E3, E6, the forged pk_S on a plaintext segment) by calling
them directly. It returns a frozen dataclass holding every input (every random value
included), every intermediate value and the outcome, as plain ints, lists, bools and strings
(`as_json` gives a JSON-ready dict). What is computed here besides the reference's operations
is the attacker's or the finding's own arithmetic (the lifted variant of E2, the unmasking of
E4/E5, the colluders' combination of Theorem 3). Error outcomes are recorded by their stable
`mpksa.errors` code.

Notation (review, part A): for x in Z*_{p^2}, lambda(x) = L(x^{p-1} mod p^2) / (p-1) mod p
is the exponent of x's component in <1+p>; anyone can compute it (`paper_lambda`).
"""

from __future__ import annotations

from .common import as_json, error_code, lift, paper_lambda
from .e1 import TOY_PAPER_PARAMS, E1Demo, e1_paper_decryption, e1_smallest_counterexample
from .e2 import E2Demo, E2V1Demo, e2_lifted_projection, e2_projection_v1
from .e3 import E3Demo, E3V1Demo, e3_cross_segment_relation, e3_v1_no_relation
from .e4 import E4Demo, e4_crafted_challenge
from .e5 import E5ForgedDemo, E5ForgedV1Demo, E5SybilDemo, e5_forged_pk_s, e5_forged_pk_s_v1, e5_sybil
from .e6 import E6Demo, e6_negative_values, minimal_super_increasing
from .e7 import E7Demo, e7_rerun_difference
from .e8 import E8Demo, E8KeyDemo, E8KeyV2Demo, e8_junk_challenge, e8_junk_server_key, e8_junk_server_key_v2
from .e9 import E9Demo, E9KeyDemo, e9_rogue_announced_value, e9_rogue_key
from .e10 import E10Demo, e10_cancelling_client
from .theorem3 import CollusionDemo, theorem3_collusion
from .v2 import (
    CollusionV2Demo,
    E2V2Demo,
    E3V2Demo,
    ReusedMaskDemo,
    StructuredBasesDemo,
    e2_projection_v2,
    e3_v2_no_relation,
    e3_v2_structured_bases,
    e7_v2_reused_mask,
    theorem3_collusion_v2,
)

# Function name -> the finding it shows (ids as in the errata vectors' schema).
FINDING_IDS: dict[str, str] = {
    "e1_paper_decryption": "E1",
    "e1_smallest_counterexample": "E1",
    "e2_lifted_projection": "E2",
    "e2_projection_v1": "E2",
    "e3_cross_segment_relation": "E3",
    "e3_v1_no_relation": "E3",
    "e4_crafted_challenge": "E4",
    "e5_sybil": "E5",
    "e5_forged_pk_s": "E5",
    "e5_forged_pk_s_v1": "E5",
    "e6_negative_values": "E6",
    "e7_rerun_difference": "E7",
    "e8_junk_challenge": "E8",
    "e8_junk_server_key": "E8",
    "e8_junk_server_key_v2": "E8",
    "e9_rogue_announced_value": "E9",
    "e9_rogue_key": "E9",
    "e10_cancelling_client": "E10",
    "theorem3_collusion": "Theorem 3",
    "e2_projection_v2": "E2",
    "e3_v2_no_relation": "E3",
    "e3_v2_structured_bases": "E3",
    "e7_v2_reused_mask": "E7",
    "theorem3_collusion_v2": "Theorem 3",
}

__all__ = [
    "FINDING_IDS", "TOY_PAPER_PARAMS", "CollusionDemo", "E1Demo", "E2Demo", "E2V1Demo", "E3Demo", "E3V1Demo",
    "E4Demo", "E5ForgedDemo", "E5ForgedV1Demo", "E5SybilDemo", "E6Demo", "E7Demo", "E8Demo", "E8KeyDemo", "E8KeyV2Demo",
    "E9Demo", "E9KeyDemo", "E10Demo", "as_json", "e8_junk_challenge", "e8_junk_server_key",
    "e8_junk_server_key_v2", "e9_rogue_announced_value", "e9_rogue_key", "e10_cancelling_client",
    "e1_paper_decryption", "e1_smallest_counterexample", "e2_lifted_projection", "e2_projection_v1",
    "e3_cross_segment_relation", "e3_v1_no_relation", "e4_crafted_challenge", "e5_forged_pk_s",
    "e5_forged_pk_s_v1", "e5_sybil", "e6_negative_values", "e7_rerun_difference", "error_code", "lift",
    "minimal_super_increasing", "paper_lambda", "theorem3_collusion",
    "CollusionV2Demo", "E2V2Demo", "E3V2Demo", "ReusedMaskDemo", "StructuredBasesDemo", "e2_projection_v2",
    "e3_v2_no_relation", "e3_v2_structured_bases", "e7_v2_reused_mask", "theorem3_collusion_v2",
]
