import sys

from mml7.cli import main

sys.exit(main())
