"""Evaluation: restorations of artificially clipped records scored against their truth.

The stage between restoration and the command line: metrics (:mod:`.metrics`), the one score
table per clip-level bin, clip fraction and family (:mod:`.scores`), the one writer of Markdown,
CSV and PNG (:mod:`.writer`), the runs of the restoration methods (:mod:`.runs`) and their
cache (:mod:`.cache`), and the commands ``evaluate`` (:mod:`.evaluation`), ``compare``
(:mod:`.compare`) and the demo's short summary (:mod:`.summary`).
"""
