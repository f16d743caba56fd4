"""`python -m monitor` runs the same CLI as `token-monitor`."""

import sys

from monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
