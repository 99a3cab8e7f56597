"""npgan: Generative Adversarial Nets (Goodfellow et al., 2014) from scratch in NumPy.

Layers with hand-written backprop (npgan.layers), the GAN losses from logits
(npgan.losses), the gradients of Algorithm 1's steps (npgan.gan) and their
finite-difference checks (npgan.gradcheck).
"""

__version__ = "0.1.0"
