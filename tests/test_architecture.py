"""The shape of the package: imports run one way, down the layers docs/architecture.md describes.

Every import inside npgan/ is read from the source (module level and inside functions alike,
with ast), and each module must appear in LAYERS below. An import may only reach a module
of a lower layer; so there is no cycle, and the arrows the design forbids (the layers knowing
the fast path, evaluation knowing the trainer, the trainer knowing figures) cannot come back
unnoticed. A new module gets a line here and in the tour of docs/architecture.md.
"""

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(__file__), "..", "npgan")

# Lowest first. A module imports only modules of its own layer or earlier ones, and never in a
# circle (test_no_import_cycle).
LAYERS = [
    # the package's own __init__ (the version) and helpers that know nothing of GANs
    ["npgan", "npgan.validate", "npgan.fileio", "npgan.init", "npgan.noise", "npgan.interrupt",
     "npgan.runlock", "npgan.checkpoint"],
    # the reference layers; the data
    ["npgan.layers", "npgan.data.toy", "npgan.data.stacked", "npgan.data.mnist"],
    ["npgan.data", "npgan.losses", "npgan.kernels.backend", "npgan.kernels.compiled", "npgan.kernels.gemm"],
    # the fast path runs the layers; the f-divergences build on the losses
    ["npgan.divergences", "npgan.kernels.runners"],
    ["npgan.kernels"],
    # G and D together: Algorithm 1's gradients and sampling
    ["npgan.gan"],
    # finite differences against hand-written gradients, for npgan's checks and anyone's
    ["npgan.finite_differences"],
    ["npgan.models", "npgan.optim", "npgan.theory", "npgan.gradcheck"],
    # gradient checks as a tool: the pytest helper; Hypothesis strategies (a test extra)
    ["npgan.testing", "npgan.testing.strategies"],
    # evaluation reads samples (or anything with .sample); restoring reads checkpoints
    ["npgan.evaluate", "npgan.evaluate.modes", "npgan.evaluate.neighbours", "npgan.restore",
     "npgan.evaluate.classifier"],
    # the metrics read samples and a classifier; the classifier is trained with npgan's optimizer
    ["npgan.evaluate.parzen", "npgan.evaluate.quality", "npgan.evaluate.classifier_training"],
    # Algorithm 1
    ["npgan.train"],
    # a run directory; drawing arrays; the runs behind the figures
    ["npgan.run", "npgan.plots", "npgan.experiments", "npgan.experiments.figure1",
     "npgan.experiments.f_divergences"],
    # what a run is monitored with; the paper's figures
    ["npgan.monitors", "npgan.paper_figures"],
    ["npgan.sweep", "npgan.cli_options"],
    ["npgan.cli_train"],
    ["npgan.cli"],
    ["npgan.__main__"],
]
RANK = {module: rank for rank, modules in enumerate(LAYERS) for module in modules}


def package_modules():
    """{dotted module name: path} for every .py file of npgan/."""
    modules = {}
    for directory, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, os.path.join(PACKAGE, "..")).split(os.sep)
                parts[-1] = parts[-1][:-3]
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
    return modules


def npgan_imports(module, path, known):
    """The npgan modules that ``module`` imports anywhere in its source (functions included)."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from npgan.kernels import runners" imports the submodule; "... import runner" the package
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == "npgan" and name != module)
    return found


MODULES = package_modules()


def test_every_module_has_a_place_in_the_layering():
    unplaced = sorted(set(MODULES) - set(RANK))
    assert not unplaced, f"add these modules to LAYERS (and the tour in docs/architecture.md): {unplaced}"
    gone = sorted(set(RANK) - set(MODULES))
    assert not gone, f"LAYERS names modules that no longer exist: {gone}"


def test_the_tour_in_the_docs_names_every_module():
    """docs/architecture.md is the map a reader follows: each top-level module by its path, each
    subpackage by its folder."""
    with open(os.path.join(PACKAGE, "..", "docs", "architecture.md"), encoding="utf-8") as handle:
        tour = handle.read()
    missing = []
    for path in MODULES.values():
        relative = os.path.relpath(path, os.path.join(PACKAGE, "..")).replace(os.sep, "/")
        folder = relative.rsplit("/", 1)[0] + "/"
        if relative.endswith(("/__init__.py", "/__main__.py")):
            continue
        if f"`{relative}`" not in tour and (folder == "npgan/" or f"`{folder}`" not in tour):
            missing.append(relative)  # a module of a subpackage may be named by its folder
    assert not missing, f"docs/architecture.md's tour does not name {missing}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_reach_a_higher_layer(module):
    upward = sorted(name for name in npgan_imports(module, MODULES[module], MODULES)
                    if RANK.get(name, len(LAYERS)) > RANK.get(module, -1))
    assert not upward, f"{module} imports {upward}: against the layering"


def test_no_import_cycle():
    graph = {module: npgan_imports(module, path, MODULES) & set(MODULES) for module, path in MODULES.items()}
    state = {}  # module -> "open" while on the current path, "done" after

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_arrows_the_design_forbids_are_absent():
    """Named once more, plainly: the reference layers know nothing of the fast path; evaluation
    never reads a trainer; the trainer never draws; a run is monitored through callables."""
    forbidden = {
        "npgan.layers": {"npgan.kernels", "npgan.kernels.runners", "npgan.kernels.compiled"},
        "npgan.evaluate.parzen": {"npgan.train", "npgan.run", "npgan.restore"},
        "npgan.evaluate.modes": {"npgan.train", "npgan.run"},
        "npgan.train": {"npgan.plots", "npgan.paper_figures", "npgan.evaluate.parzen", "npgan.monitors",
                        "npgan.run", "npgan.cli"},
        "npgan.run": {"npgan.plots", "npgan.evaluate.parzen", "npgan.monitors", "npgan.paper_figures"},
    }
    for module, targets in forbidden.items():
        assert not npgan_imports(module, MODULES[module], MODULES) & targets, module


def test_modules_stay_readable_in_size():
    sizes = {module: sum(1 for _ in open(path)) for module, path in MODULES.items()}
    assert sizes["npgan.train"] < 400, sizes["npgan.train"]
    assert max(sizes.values()) <= 600, {module: size for module, size in sizes.items() if size > 600}
