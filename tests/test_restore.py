"""A GAN from a checkpoint (npgan.restore): the average or the trained generator, export."""

import dataclasses

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.data.toy import RING8
from npgan.restore import export_generator, gan_from_checkpoint
from npgan.run import train_run
from npgan.train import Trainer

from tests.test_train import small_config


def test_a_checkpoint_gives_the_average_or_the_trained_generator(tmp_path):
    trainer = Trainer(small_config(generator_average_decay=0.9), RING8)
    path = train_run(trainer, tmp_path)
    checkpoint = load_checkpoint(path)
    for choice, source in (("average", trainer.model), ("trained", trainer.gan)):
        gan = gan_from_checkpoint(checkpoint, choice)
        for name, value in source.params_of("G").items():
            np.testing.assert_array_equal(gan.params[name], value, err_msg=f"{choice} {name}")
    with pytest.raises(ValueError, match="generator must be one of"):
        gan_from_checkpoint(checkpoint, "best")
    damaged = dataclasses.replace(checkpoint, arrays={k: v for k, v in checkpoint.arrays.items()
                                                      if not k.startswith("generator_average.")})
    with pytest.raises(ValueError, match="kept no parameter average"):
        gan_from_checkpoint(damaged)
    with pytest.raises(ValueError, match="ParameterAverage state"):
        Trainer.from_checkpoint(damaged, RING8)


@pytest.mark.parametrize("decay", [0.0, 0.9])
def test_an_exported_generator_samples_like_the_run_and_cannot_train(tmp_path, decay):
    trainer = Trainer(small_config(generator_average_decay=decay), RING8)
    checkpoint = load_checkpoint(train_run(trainer, tmp_path / "run"))
    exported = export_generator(checkpoint, tmp_path / "g.npz")
    loaded = load_checkpoint(tmp_path / "g.npz")
    assert set(loaded.arrays) == set(trainer.gan.params_of("G"))
    assert loaded.state["generator"] == ("average" if decay else "trained")
    gan = gan_from_checkpoint(loaded)
    assert gan.discriminator is None and exported.discriminator is None
    rng = lambda: np.random.default_rng(2)  # noqa: E731
    np.testing.assert_array_equal(gan.sample(50, rng()), trainer.sample(50, rng()))
    with pytest.raises(ValueError, match="generator only"):
        Trainer.from_checkpoint(loaded, RING8)
    if decay:
        with pytest.raises(ValueError, match="only the average generator"):
            gan_from_checkpoint(loaded, "trained")
