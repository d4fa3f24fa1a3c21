"""jsdm-hot: joint species distribution modelling with HOT-VAE."""
__version__ = "0.1.0"
