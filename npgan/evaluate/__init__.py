"""Evaluation of generator samples: Parzen-window log-likelihood and toy mode coverage."""
