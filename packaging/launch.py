"""The frozen app's entry point: the same `main` as the attention-explorer command."""

import sys

from explorer.app import main

if __name__ == "__main__":
    sys.exit(main())
