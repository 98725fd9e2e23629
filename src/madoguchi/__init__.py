"""madoguchi (窓口): a self-hosted, multi-channel technical support desk."""

__version__ = "0.1.0"
