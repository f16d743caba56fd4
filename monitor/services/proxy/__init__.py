"""The local metering proxy: forwards OpenAI API calls and records what each one used."""

from monitor.services.proxy.addresses import ProxyConfigError
from monitor.services.proxy.server import DEFAULT_UPSTREAM, MeteringProxy

__all__ = ["DEFAULT_UPSTREAM", "MeteringProxy", "ProxyConfigError"]
