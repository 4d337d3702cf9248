"""mpksa.conformance: the conformance runner (spec chapter 9).

`mpksa conformance run` checks an implementation against the test vectors over
the protocol `mpksa-conformance/1` (protocol.py, schema/); `mpksa conformance
interop` runs live rounds between implementations (interop.py).
`python -m mpksa.conformance.reference_server` is the reference behind the
protocol and a template for implementers.
"""
