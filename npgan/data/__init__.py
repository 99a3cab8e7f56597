"""Data sources: toy distributions (toy.py), MNIST and Fashion-MNIST (mnist.py), Stacked MNIST
built from MNIST's files (stacked.py)."""


def load_dataset(name, data_dir=None):
    """The data called ``name``: a toy distribution, or MNIST / Fashion-MNIST / Stacked MNIST found
    (or downloaded) as npgan.data.mnist describes, from ``data_dir`` if given. A ValueError
    (DataError for the image files) says what is wrong."""
    from npgan.data.mnist import IMAGE_DATASETS, load_image_dataset
    from npgan.data.toy import get_toy

    if name in IMAGE_DATASETS:
        return load_image_dataset(name, data_dir)
    return get_toy(name)
