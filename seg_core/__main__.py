import sys

from seg_core.cli import main

sys.exit(main())
