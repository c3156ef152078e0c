"""The joint acceptance case (联合验收, spec/case.md) as a pure domain model.

Events in, state and clocks out: no file, no store, no Prefect. The storage keeps the
events (:mod:`storage.case_log`), the command line and the flows call
:func:`cases.case.handle`, so a rule of the process lives here once.

Modules
-------
``profile``  the city's ``[case]`` table: departments, limits, switches (:class:`CaseRules`)
``events``   the facts, in the past tense (``CaseOpened``, ``OpinionGiven`` …), and their record form
``case``     the case's state, ``apply`` (no checks) and ``handle`` (role and order checks)
``clock``    statutory working days with the paused intervals taken out
``board``    each stage's clock, the 容缺 items, findings with accepted exceptions
"""
