"""encordfs: mount Encord storage as a drive."""

__version__ = "0.1.0"
