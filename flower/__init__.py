"""MPKSA on Flower: a client mod and a server fit workflow (spec chapter 11).

Server, inside a `ServerApp` main function (the one line that turns MPKSA on):

    DefaultWorkflow(fit_workflow=MpksaWorkflow())(grid, LegacyContext(context, config, strategy))

Client: `ClientApp(client_fn=client_fn, mods=[mpksa_mod])`. Profile `v2` on `v2-rsa2048` by
default (`MpksaWorkflow("v1-rsa2048-short")` for `v1`); `MpksaWorkflow(hardened=True)` runs the
hardening of spec 5.13 and 5.14 with every client.
"""

from .mod import ClientState, MpksaMod, mpksa_mod
from .records import ProtocolStageError
from .workflow import DEFAULT_ENCODING, DEFAULT_PARAMS, Attempt, Failure, MpksaWorkflow, RoundRecord

__all__ = [
    "DEFAULT_ENCODING", "DEFAULT_PARAMS", "Attempt", "ClientState", "Failure", "MpksaMod", "MpksaWorkflow",
    "ProtocolStageError", "RoundRecord", "mpksa_mod",
]
