# Stubs for the compiled module icecore._core: one submodule per area, each in its own .pyi
# (mirrors cpp/python/module.cpp). Checked against the built module by mypy.stubtest in CI.
from . import healpix as healpix
from . import likelihood as likelihood
from . import lvk as lvk
from . import ps as ps
from . import radio as radio
from . import scan as scan

__version__: str
