"""Save a seeded run's parameters, or compare two saved runs array by array.

What a refactor must keep: the same seed gives the same parameters. Run this script against
the tree before a change and after it (PYTHONPATH picks the tree), then compare:

    PYTHONPATH=../before python benchmarks/seeded_run.py save before.npz --data-dir ../shared/data/mnist
    python benchmarks/seeded_run.py save after.npz --data-dir ../shared/data/mnist
    python benchmarks/seeded_run.py compare before.npz after.npz

``save`` trains each case for its iterations on each kernel backend (numpy, numba) and keeps
every parameter of the trained GAN and of the model it samples (the parameter average where
the preset keeps one), plus the optimizers' state, under "<case>/<backend>/<name>".
``compare`` prints, per case and backend, the number of arrays, how many are bit-identical and
the largest absolute difference, and exits 1 if any array differs.
"""

import argparse
import sys

import numpy as np

CASES = {  # name: (preset, iterations, overrides)
    "ring8": ("ring8", 300, {}),
    "gauss1d-minimax-momentum": ("gauss1d", 200, {"generator_loss": "minimax", "optimizer": "momentum",
                                                 "k_discriminator_steps": 3}),
    "paper-mnist": ("paper-mnist", 200, {}),
    "mnist-tuned": ("mnist-tuned", 150, {"update_order": "sequential", "k_discriminator_steps": 2}),
}


def save(path, data_dir, cases, backends):
    import npgan.kernels
    from npgan.data import load_dataset
    from npgan.models import preset_config
    from npgan.train import Trainer

    arrays = {}
    for case in cases:
        preset, iterations, overrides = CASES[case]
        config = preset_config(preset, seed=0, **overrides)
        dataset = load_dataset(config["dataset"], data_dir)
        for backend in backends:
            with npgan.kernels.use_backend(backend):
                trainer = Trainer(config, dataset)
                for _ in range(iterations):
                    trainer.train_iteration()
            for name, value in trainer.gan.params.items():
                arrays[f"{case}/{backend}/{name}"] = value.copy()
            for name, value in trainer.model.params.items():
                arrays[f"{case}/{backend}/model.{name}"] = value.copy()
            for prefix, optimizer in (("optimizer_d", trainer.optimizer_d), ("optimizer_g", trainer.optimizer_g)):
                for name, value in optimizer.state_dict().items():
                    arrays[f"{case}/{backend}/{prefix}.{name}"] = np.asarray(value).copy()
            print(f"{case} on {backend}: {iterations} iterations", flush=True)
    np.savez(path, **arrays)


def compare(before_path, after_path):
    before, after = np.load(before_path), np.load(after_path)
    if set(before.files) != set(after.files):
        print("the two files hold different arrays:", sorted(set(before.files) ^ set(after.files))[:10])
        return 1
    groups = {}
    for name in before.files:
        group = "/".join(name.split("/")[:2])
        a, b = before[name], after[name]
        identical = a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
        largest = 0.0 if identical else float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        count, same, worst = groups.get(group, (0, 0, 0.0))
        groups[group] = (count + 1, same + identical, max(worst, largest))
    failed = False
    for group, (count, same, worst) in sorted(groups.items()):
        print(f"{group:40s} {same}/{count} arrays bit-identical; largest difference {worst:.3g}")
        failed |= same != count
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save_parser = commands.add_parser("save")
    save_parser.add_argument("path")
    save_parser.add_argument("--data-dir")
    save_parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    save_parser.add_argument("--backends", nargs="+", default=["numpy", "numba"])
    compare_parser = commands.add_parser("compare")
    compare_parser.add_argument("before")
    compare_parser.add_argument("after")
    arguments = parser.parse_args(argv)
    if arguments.command == "save":
        save(arguments.path, arguments.data_dir, arguments.cases, arguments.backends)
        return 0
    return compare(arguments.before, arguments.after)


if __name__ == "__main__":
    sys.exit(main())
