"""Deterministic sample packages (成果包) of spec/deliverable.md, for tests and the demo.

Public API: :func:`build_model`, :func:`write_package`, :func:`make_package` and the
:class:`ProjectModel` they pass around. See ``sample_data/README.md``.
"""

from sample_data.generator import build_model, make_package, write_package
from sample_data.model import ProjectModel

__all__ = ["ProjectModel", "build_model", "make_package", "write_package"]
