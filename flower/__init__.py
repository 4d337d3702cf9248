"""MPKSA on Flower: a client mod and a server fit workflow (spec chapter 11).

Server, inside a `ServerApp` main function (the one line that turns MPKSA on):

    DefaultWorkflow(fit_workflow=MpksaWorkflow())(grid, LegacyContext(context, config, strategy))

Client: `ClientApp(client_fn=client_fn, mods=[mpksa_mod])`.
"""

from .mod import ClientState, MpksaMod, mpksa_mod
from .records import ProtocolStageError
from .workflow import DEFAULT_ENCODING, Attempt, Failure, MpksaWorkflow, RoundRecord

__all__ = [
    "DEFAULT_ENCODING", "Attempt", "ClientState", "Failure", "MpksaMod", "MpksaWorkflow",
    "ProtocolStageError", "RoundRecord", "mpksa_mod",
]
