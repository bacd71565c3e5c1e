"""motionloop: self-correcting self-consuming loops for human-motion generative models."""

__version__ = "0.1.0"
