import sys

from layercheck_cli.main import main

sys.exit(main())
