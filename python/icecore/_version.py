"""The single source of icecore's version (read by the build and by ``icecore.__version__``)."""

__version__ = "0.1.0"
