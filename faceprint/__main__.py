import sys

from faceprint.cli import main

sys.exit(main())
