"""``python -m jsdm_hot.cli``: the same as the ``jsdm-hot`` command (used by ``torchrun -m jsdm_hot.cli``)."""

from jsdm_hot.cli import main

if __name__ == "__main__":
    main()
