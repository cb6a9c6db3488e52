"""Training-setup rules (T) on exact cases: the hint fits the model in front of it."""

from __future__ import annotations

import pytest

from archcalc.lint import lint


@pytest.mark.parametrize(("final", "loss", "hint"), [
    # the sigmoid must go too, or cross_entropy (on logits) would read probabilities
    ("  - sigmoid\n", "bce", "remove the final `3` (sigmoid) and use loss: cross_entropy (one logit per class), or "
                             "say multi_label: true if samples can carry several labels"),
    ("", "bce_with_logits", "use loss: cross_entropy (one logit per class), or say multi_label: true if samples "
                            "can carry several labels"),
])
def test_label_mode_mismatch_says_to_drop_the_sigmoid_it_would_leave_behind(final, loss, hint):
    text = f"input: [8]\nlayers:\n  - linear: 16\n  - relu\n  - linear: 5\n{final}" \
           f"train: {{task: classification, classes: 5, loss: {loss}}}\n"
    [finding] = [d for d in lint(text, "x.yaml", ["T109"]).diagnostics if d.code == "T109"]
    assert finding.loc.line == (7 if final else 6)  # the train: line, where the loss is
    assert finding.hint == hint
    fixed = text.replace(final, "").replace(f"loss: {loss}", "loss: cross_entropy")
    assert lint(fixed, "x.yaml", ["T109", "A103", "T107"]).diagnostics == []
