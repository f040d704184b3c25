import sys

from seg_core.cli.commands import main

sys.exit(main())
