"""``python -m cft.evaluate --config evals/<name>/config.json``: one eval, critic eval or checkpoint selection."""

import sys

from cft.evaluate.job import main

if __name__ == "__main__":
    sys.exit(main())
