"""`python -m faultmaven.cli`: the same command as `faultmaven`."""

from faultmaven.cli import main

main()
