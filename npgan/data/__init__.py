"""Data sources: toy distributions (toy.py) and MNIST (mnist.py)."""
