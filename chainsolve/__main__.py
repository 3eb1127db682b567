"""``python -m chainsolve``: the same command line as the ``chainsolve`` script."""

from chainsolve.cli import main

if __name__ == "__main__":
    main()
