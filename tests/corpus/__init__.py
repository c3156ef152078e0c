"""Hostile input (issue 5): bad packages made by code, fuzzing, concurrent submissions.

``builders`` makes each bad package from the clean sample S (rendered once per process)
and says which codes it must give; ``test_bad_packages`` runs them through ``duoce check``
and :func:`engine.precheck.precheck`; ``test_fuzz`` mutates drawing and workbook bytes.
"""
