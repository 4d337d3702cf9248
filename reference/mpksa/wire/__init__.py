"""The wire contract shared by every implementation and the runner (spec chapters 6 and 9).

`codec`: the byte encodings of integers, bytes, floats and ciphertexts.
`contract`: the request and answer envelopes, params and encoding objects, operation names,
`dispatch` and the in-process `Adapter` interface.
"""

from .codec import Json

__all__ = ["Json"]
