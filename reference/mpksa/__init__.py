"""MPKSA: reference implementation of multi-private-key secure aggregation.

Profiles: `paper` (Yang et al., as printed, broken: see spec chapter 7) and
`v1` (corrected; use this one). Not for production: this is a readable reference.
"""

from .encoding import Encoding
from .errors import MpksaError
from .params import PARAMETER_SET_NAMES, parameter_set
from .round import HARDENED, Client, Hardening, RoundResult, run_round, setup

__version__ = "0.1.0"
SPEC_VERSION = "0.1"

__all__ = [
    "HARDENED", "Client", "Encoding", "Hardening", "MpksaError", "PARAMETER_SET_NAMES", "RoundResult",
    "parameter_set", "run_round", "setup", "__version__", "SPEC_VERSION",
]
