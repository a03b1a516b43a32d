"""fangkong (防控): a platform that runs a region's outbreak prevention and control."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fangkong")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
