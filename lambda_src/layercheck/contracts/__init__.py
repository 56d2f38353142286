"""Contracts: names that the Lambda, the CDK stack, local tooling and outside tests must spell identically.

Each module holds plain constants and imports nothing, so that ``infra/`` and ``local/`` can read them without
loading the Lambda's code, and a change is one edit (``tests/unit/test_contracts.py`` checks that they agree).
"""
