"""Evaluation of generator samples: Parzen-window log-likelihood (parzen), mode coverage of the toys and
of Stacked MNIST (modes), nearest training examples and the squared distances both Parzen and the search use
(neighbours). Each takes samples, or a GAN to sample from (anything with .sample(n, rng)),
never a trainer."""
