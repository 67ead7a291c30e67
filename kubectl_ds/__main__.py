"""`python -m kubectl_ds`."""

from kubectl_ds.cli import main

if __name__ == "__main__":
    main()
