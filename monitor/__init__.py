"""Token Monitor: see what the OpenAI API costs you, live, against your monthly limit."""

__version__ = "0.1.0"
