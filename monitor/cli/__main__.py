"""``python -m monitor.cli``: the ``tocsin`` command."""

from monitor.cli import main

main()
