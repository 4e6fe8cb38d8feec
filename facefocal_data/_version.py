"""The toolkit's version, in one place: the package, the wheel's metadata (hatch reads this file)
and every build's manifest take it from here. A leaf module, so any module can import it."""

__version__ = "0.1.0"
