import sys

from bioimg.cli import main

sys.exit(main())
