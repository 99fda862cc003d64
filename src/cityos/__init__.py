"""cityos: an open smart-city platform behind the ETSI NGSI-LD API."""

__version__ = "0.1.0"
