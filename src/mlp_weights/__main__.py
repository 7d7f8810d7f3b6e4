import sys

from mlp_weights.cli import main

sys.exit(main())
