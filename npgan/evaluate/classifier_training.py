"""Training the quality metrics' classifier (npgan.evaluate.classifier) with npgan's layers,
loss and optimizer: `npgan train-classifier`.

    for each epoch:  the 50,000 training images in a shuffled order, minibatches of 100:
                         a = net(x) (dropout on);  L = softmax_cross_entropy(a, y);
                         backprop dL/da through the net;  momentum SGD step;
                         every weight column (a unit's incoming weights) cut back to a norm of
                         at most max_column_norm (the maxout paper's constraint, 1.9365)
                     validation accuracy (images 50,000-59,999; dropout off)
    keep the parameters of the epoch with the best validation accuracy (the earliest on a tie);
    stop after ``epochs``, or ``patience`` epochs without a better one.

The test images never touch any choice. The optimizer is npgan.optim.MomentumSGD with the
schedules of the paper's GAN: the learning rate divided by ``learning_rate_decay`` after every
update, the momentum ramped linearly from 0.5 to ``final_momentum`` over the epochs.

Reproducible: one seed gives the weights (and the Dropout masks) and the minibatch order
through separate streams (numpy SeedSequence(seed).spawn); the same seed and the same number
of BLAS threads train the same classifier, bit for bit.
"""

import time

import numpy as np

from npgan.evaluate.classifier import DEFAULT_ARCHITECTURE, Classifier, build_network
from npgan.losses import softmax_cross_entropy
from npgan.optim import MomentumSGD
from npgan.validate import require_integer

RECIPE = {"epochs": 60, "patience": 15, "batch_size": 100, "learning_rate": 0.1, "learning_rate_decay": 1.00012,
          "min_learning_rate": 1e-4, "momentum": 0.5, "final_momentum": 0.7, "momentum_saturate_epoch": 20,
          "max_column_norm": 1.9365}


def train_classifier(data, *, seed=0, epochs=None, patience=None, progress=None, **recipe_changes):
    """Train a classifier on ``data`` (an npgan.data.mnist.ImageData: its train split, labels
    train_labels; chosen on validation) and return the Classifier of its best validation epoch.

    epochs, patience and any key of RECIPE override the recipe; progress, if given, is called
    with the record of every epoch ({"epoch", "train_loss", "validation_accuracy",
    "learning_rate", "momentum", "seconds"}). The classifier's config holds the architecture, the
    dataset and the recipe; its state the best epoch, its validation accuracy and every record.
    """
    recipe = {**RECIPE, **recipe_changes}
    if epochs is not None:
        recipe["epochs"] = epochs
    if patience is not None:
        recipe["patience"] = patience
    unknown = sorted(set(recipe) - set(RECIPE))
    if unknown:
        raise ValueError(f"unknown recipe entries {unknown}; valid: {', '.join(RECIPE)}")
    seed = require_integer(seed, "seed", minimum=0)
    for key in ("epochs", "patience", "batch_size"):
        recipe[key] = require_integer(recipe[key], key, minimum=1)

    weights_stream, order_stream = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    config = {**DEFAULT_ARCHITECTURE, "input_dim": data.dim, "dataset": data.name, "seed": seed, "recipe": recipe}
    network = build_network(config, weights_stream)
    optimizer = MomentumSGD(network.params, learning_rate=recipe["learning_rate"], momentum=recipe["momentum"],
                            learning_rate_decay=recipe["learning_rate_decay"],
                            min_learning_rate=recipe["min_learning_rate"], final_momentum=recipe["final_momentum"],
                            momentum_saturate_epoch=recipe["momentum_saturate_epoch"])
    classifier = Classifier(network, config)
    validation = data.rows("validation", slice(None))
    best_accuracy, best_epoch, best_params, records = -1.0, 0, None, []
    for epoch in range(1, recipe["epochs"] + 1):
        started = time.perf_counter()
        optimizer.set_epoch(epoch)
        learning_rate, momentum = optimizer.current_learning_rate, optimizer.current_momentum
        train_loss = _train_one_epoch(network, optimizer, data, order_stream, recipe["batch_size"],
                                      recipe["max_column_norm"])
        network.eval()
        accuracy = classifier.accuracy(validation, data.validation_labels)
        record = {"epoch": epoch, "train_loss": train_loss, "validation_accuracy": accuracy,
                  "learning_rate": learning_rate, "momentum": momentum, "seconds": time.perf_counter() - started}
        records.append(record)
        if progress is not None:
            progress(record)
        if accuracy > best_accuracy:
            best_accuracy, best_epoch = accuracy, epoch
            best_params = {name: value.copy() for name, value in network.params.items()}
        elif epoch - best_epoch >= recipe["patience"]:
            break
    for name, value in network.params.items():
        value[...] = best_params[name]
    classifier.state = {"contents": "classifier", "epoch": best_epoch, "validation_accuracy": best_accuracy,
                        "epochs_trained": len(records), "records": records}
    return classifier


def _train_one_epoch(network, optimizer, data, rng, batch_size, max_column_norm):
    """One pass over the training split in a shuffled order; the mean minibatch loss."""
    weights = [value for name, value in network.params.items() if name.endswith("W")]
    network.train()
    order = rng.permutation(data.size("train"))
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):  # a divergence is caught by the optimizer's check
        for start in range(0, len(order), batch_size):
            rows = np.sort(order[start:start + batch_size])  # sorted: faster to gather, the same batch
            x, labels = data.rows("train", rows), data.train_labels[rows].astype(np.int64)
            network.zero_grad()
            logits = network.forward(x)
            loss, grad_logits = softmax_cross_entropy(logits, labels)
            network.backward(grad_logits, input_grad=False)
            optimizer.step(network.grads)
            for weight in weights:  # W (in, out): column j holds the incoming weights of output j
                norms = np.sqrt(np.einsum("ij,ij->j", weight, weight))
                weight *= np.minimum(1, max_column_norm / np.maximum(norms, 1e-12)).astype(weight.dtype)
            losses.append(loss)
    return float(np.mean(losses))
