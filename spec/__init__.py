"""mpksa.spec: the literate specification and the tool that keeps it one text with the reference.

The chapters (`*.md` beside this file) ship as package data, so `mpksa spec check` runs from a
checkout and from an installed wheel alike; `mpksa spec sync` rewrites quoted blocks and is meant
for a checkout. See `tool` and chapter 1, "How this specification is checked".
"""
