"""``make bench``: layercheck measured against the tools a user would pick instead, written to docs/BENCHMARKS.md.

Everything runs on this machine against one moto server on 127.0.0.1, behind ``local.faultproxy`` adding a per-request
latency, each in its own process so that the measured process has the interpreter to itself. Benchmarks measure; the
tests never assert timings.
"""
