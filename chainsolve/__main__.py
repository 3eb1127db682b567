"""``python -m chainsolve``: the same command line as the ``chainsolve`` script."""

from chainsolve.cli import run

if __name__ == "__main__":
    run()
