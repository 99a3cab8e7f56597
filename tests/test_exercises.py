"""Notebook 6: the exercises fail the grader as shipped, the solutions pass it, and the grader is
one and the same cell in both notebooks.

Two kinds of check. The committed notebooks are read as they are (their printed verdicts: one
FAIL line per exercise in the exercises notebook, one PASS line per exercise in the solutions).
And the grader itself is run here, without Jupyter: its cell and the answer cells are executed
in a namespace, so that the solutions are seen to pass, the blanks to fail, and deliberately wrong
answers (a maxout gradient routed to piece 0, a dropout that forgets its mask, ...) to fail with
a message that says what is wrong, and never to raise. tests/test_notebooks.py runs both
notebooks top to bottom.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest

from npgan.layers import Dropout, Linear, Maxout, sigmoid

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXERCISES = NOTEBOOKS / "06_exercises.ipynb"
SOLUTIONS = NOTEBOOKS / "06_exercises_solutions.ipynb"
GRADER_MARK = "def verdict("  # the grader cell is the one code cell that defines verdict
TITLES = {"a": "(a) Maxout.backward", "b": "(b) Dropout.backward", "c": "(c) non-saturating generator loss",
          "d": "(d) Linear.backward"}
ANSWERS = {"a": "MyMaxout", "b": "MyDropout", "c": "my_generator_loss", "d": "MyLinear"}


def read(path):
    return nbformat.read(path, as_version=4)


def grader_source(notebook):
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code" and GRADER_MARK in cell.source]
    assert len(cells) == 1, f"expected one grader cell (defining verdict), found {len(cells)}"
    return cells[0]


def verdict_lines(notebook):
    """The PASS/FAIL lines the committed notebook printed."""
    text = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.output_type == "stream")
    return [line for line in text.splitlines() if line.startswith(("PASS:", "FAIL:"))]


def namespace(path):
    """The grader and the answer cells of ``path`` executed as plain Python (the grade(...) calls left out)."""
    names = {}
    for cell in read(path).cells:
        if cell.cell_type == "code" and not cell.source.startswith("grade("):
            exec(compile(cell.source, f"{path.name}", "exec"), names)
    return names


@pytest.fixture(scope="module")
def grader():
    names = {}
    exec(compile(grader_source(read(EXERCISES)), "grader", "exec"), names)
    return names["verdict"]


def test_the_grader_cell_is_the_same_in_both_notebooks():
    assert grader_source(read(EXERCISES)) == grader_source(read(SOLUTIONS))


def test_the_grader_knows_the_exercises_the_tests_expect():
    names = {}
    exec(compile(grader_source(read(EXERCISES)), "grader", "exec"), names)
    assert {key: title for key, (title, _) in names["EXERCISES"].items()} == TITLES


def test_the_exercises_notebook_is_committed_with_a_fail_line_per_exercise():
    lines = verdict_lines(read(EXERCISES))
    assert not [line for line in lines if line.startswith("PASS:")], lines
    for title in TITLES.values():
        assert sum(line.startswith(f"FAIL: {title}:") for line in lines) == 1, (title, lines)
    assert len(lines) == len(TITLES), lines


def test_the_solutions_notebook_is_committed_with_a_pass_line_per_exercise():
    lines = verdict_lines(read(SOLUTIONS))
    assert not [line for line in lines if line.startswith("FAIL:")], lines
    for title in TITLES.values():
        assert sum(line.startswith(f"PASS: {title}: worst rel_error ") for line in lines) == 1, (title, lines)
    assert len(lines) == len(TITLES), lines


@pytest.mark.parametrize("key", TITLES)
def test_the_solutions_pass_the_grader(key):
    names = namespace(SOLUTIONS)
    line = names["verdict"](key, names[ANSWERS[key]])
    assert line.startswith(f"PASS: {TITLES[key]}: worst rel_error "), line
    worst = float(line.split("worst rel_error ")[1].split()[0])
    assert worst < 1e-9, line


@pytest.mark.parametrize("key", TITLES)
def test_the_blanks_fail_the_grader_as_not_implemented(key):
    names = namespace(EXERCISES)
    line = names["verdict"](key, names[ANSWERS[key]])
    assert line.startswith(f"FAIL: {TITLES[key]}: not implemented yet"), line


# -- deliberately wrong answers: each must FAIL, saying what is wrong, and none may raise -------------

class MaxoutRoutedToPieceZero(Maxout):
    """Every unit's gradient goes to its first piece instead of its winner."""

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        x = self.kept(grad_y)["x"]
        grad_z = np.zeros((len(x), self.units, self.pieces))
        grad_z[:, :, 0] = grad_y
        grad_z = grad_z.reshape(len(x), -1)
        if param_grads:
            self.grads["W"] += x.T @ grad_z
            self.grads["b"] += grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T if input_grad else None


class MaxoutWithItsUnitsShifted(Maxout):
    """Unit j's gradient goes to the winner of unit j + 1: right for an all-ones upstream gradient."""

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        cache = self.kept(grad_y)
        x, winners = cache["x"], cache["winners"]
        grad_z = np.zeros((len(x), self.units, self.pieces))
        np.put_along_axis(grad_z, winners[:, :, None], np.roll(grad_y, 1, axis=1)[:, :, None], axis=2)
        grad_z = grad_z.reshape(len(x), -1)
        if param_grads:
            self.grads["W"] += x.T @ grad_z
            self.grads["b"] += grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T if input_grad else None


class MaxoutAssigningItsGradients(Maxout):
    """The right derivative, but assigned (=) rather than accumulated, and computed even when
    param_grads=False."""

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        cache = self.kept(grad_y)
        x, winners = cache["x"], cache["winners"]
        grad_z = np.zeros((len(x), self.units, self.pieces))
        np.put_along_axis(grad_z, winners[:, :, None], grad_y[:, :, None], axis=2)
        grad_z = grad_z.reshape(len(x), -1)
        self.grads["W"][...] = x.T @ grad_z
        self.grads["b"][...] = grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T


class DropoutForgettingTheMask(Dropout):
    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        self.kept(grad_y)
        return grad_y


class DropoutAssumingAMask(Dropout):
    """Fails in evaluation mode, where there is no mask."""

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        return grad_y * self.kept(grad_y)["scaled_mask"]


class LinearWithoutInputGradient(Linear):
    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        x = self.kept(grad_y)["x"]
        self.grads["W"] += x.T @ grad_y
        self.grads["b"] += grad_y.sum(axis=0)


class LinearWithItsGradientRowsReversed(Linear):
    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        x = self.kept(grad_y)["x"]
        if param_grads:
            self.grads["W"] += (x.T @ grad_y)[::-1]
            self.grads["b"] += grad_y.sum(axis=0)
        return grad_y @ self.params["W"].T if input_grad else None


def minimax_loss(fake_logits):
    return -np.mean(np.logaddexp(0, fake_logits)), -sigmoid(fake_logits) / fake_logits.size


def loss_without_the_mean(fake_logits):
    return np.mean(np.logaddexp(0, -fake_logits)), sigmoid(fake_logits) - 1


def loss_through_log_sigmoid(fake_logits):
    return -np.mean(np.log(sigmoid(fake_logits))), (sigmoid(fake_logits) - 1) / fake_logits.size


def loss_raising(fake_logits):
    raise ZeroDivisionError("a bug of the learner's")


WRONG_ANSWERS = [
    ("a", MaxoutRoutedToPieceZero, "the gradient of W is off by rel_error"),
    ("a", MaxoutWithItsUnitsShifted, "the gradient of x is off by rel_error"),
    ("a", MaxoutAssigningItsGradients, "grads do not accumulate"),
    ("a", MaxoutAssigningItsGradients, "backward(g, param_grads=False) changed grads"),
    ("b", DropoutForgettingTheMask, "the gradient of x is off by rel_error"),
    ("b", DropoutAssumingAMask, "TypeError"),
    ("c", minimax_loss, "that is the minimax loss"),
    ("c", loss_without_the_mean, "the gradient with respect to the logits is off by rel_error"),
    ("c", loss_through_log_sigmoid, "not finite at logits -1000 and 1000"),
    ("c", loss_raising, "ZeroDivisionError: a bug of the learner's"),
    ("d", LinearWithoutInputGradient, "backward returned None"),
    ("d", LinearWithItsGradientRowsReversed, "the gradient of W is off by rel_error"),
    ("d", "not a class", "TypeError"),
]


@pytest.mark.parametrize("key, answer, expected", WRONG_ANSWERS,
                         ids=[f"{key}-{getattr(answer, '__name__', answer)}" for key, answer, _ in WRONG_ANSWERS])
def test_a_wrong_answer_fails_and_says_why(grader, key, answer, expected):
    line = grader(key, answer)
    assert line.startswith(f"FAIL: {TITLES[key]}: "), line
    assert expected in line, line
    assert "\n" not in line


def test_a_maxout_routed_to_piece_zero_is_off_by_about_one(grader):
    line = grader("a", MaxoutRoutedToPieceZero)
    errors = [float(part.split("rel_error ")[1]) for part in line.split("; ") if "rel_error " in part]
    assert errors and min(errors) > 0.5, line
