"""Training-setup rules (T) on exact cases: the hint fits the model in front of it."""

from __future__ import annotations

from pathlib import Path

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


def grid(classes: int, multi: str = ", multi_label: true") -> str:
    """A next-state predictor for a 3×3 grid of cells: one sigmoid per cell, output [1, 3, 3]."""
    return ("input: [1, 5, 5]\nlayers:\n  - conv2d: {out: 10, kernel: 3}\n  - relu\n  - conv2d: {out: 1, kernel: 1}\n"
            f"  - sigmoid\ntrain: {{task: classification, classes: {classes}{multi}, loss: bce}}\n")


@pytest.mark.parametrize(("text", "message"), [
    (grid(9), None),  # nine labels, one per value of [1, 3, 3]: BCE compares them element by element
    (grid(4), "the model outputs 1 score on its class axis (axis 0 of [1, 3, 3]) but train: says classes: 4; "
              "a multi-label classification of 4 labels needs one output per label"),
    (grid(2, ""), None),  # alive or dead, one probability per cell
    (grid(9, ""), "the model outputs 1 score on its class axis (axis 0 of [1, 3, 3]) but train: says classes: 9; "
                  "bce with 9 labels needs one output per label"),
])
def test_output_classes_mismatch_counts_multi_labels_over_the_whole_output(text, message):
    found = [d.message for d in lint(text, "x.yaml", ["T104"]).diagnostics if d.code == "T104"]
    assert found == ([message] if message else [])



def autoencoder(declared: str) -> str:
    """Keras' convolutional autoencoder: pixels in [0, 1] in, a sigmoid image out, binary cross-entropy."""
    return ("input: [1, 28, 28]\ndata: {range: [0, 1]}\nlayers:\n"
            "  - conv2d: {out: 16, kernel: 4, stride: 2, padding: 1}\n  - relu\n"
            "  - conv_transpose2d: {out: 1, kernel: 4, stride: 2, padding: 1}\n  - sigmoid\n"
            f"train: {{task: regression, loss: bce{declared}}}\n")


REGRESSION_HINT = "use loss: mse (or l1, huber), or task: classification if the targets are classes"


@pytest.mark.parametrize(("declared", "code", "message", "hint"), [
    ("", "T103", "bce on a regression: it treats the targets as class labels or probabilities, not real values",
     REGRESSION_HINT),
    (", target_range: [0, 1]", "T114", "bce on a regression whose targets lie in [0, 1]: it reads them as "
     "probabilities, so its least value is their entropy, not 0, and it weighs an error near 0 or 1 more than the "
     "same error in between", "mse, unless the decoder is meant to be Bernoulli (a VAE's on binarised images)"),
    (", target_range: [0, 255]", "T103", "bce on a regression: it treats the targets as class labels or "
     "probabilities, not real values", REGRESSION_HINT),
])
def test_binary_cross_entropy_on_a_regression_says_why_for_the_targets_declared(declared, code, message, hint):
    """Targets declared in [0, 1] (the Keras blog's autoencoder, PyTorch's VAE example) are a choice, noted as
    info (T114); declared beyond, or not declared at all on a regression, the wrong loss (T103, a warning)."""
    found = [d for d in lint(autoencoder(declared), "x.yaml", ["ALL"]).diagnostics if d.code in ("T103", "T114")]
    assert [(d.code, d.loc.line, d.loc.col, d.message, d.hint) for d in found] == [(code, 8, 33, message, hint)]
    assert lint(autoencoder(declared).replace("bce", "mse"), "x.yaml", ["T103", "T114"]).diagnostics == []


def scheduled(scheduler: str, epochs: int = 20, lr: float = 0.1) -> str:
    return f"input: [8]\nlayers: [linear: 3]\ntrain:\n  optimizer: {{sgd: {{lr: {lr}}}}}\n  epochs: {epochs}\n" \
           f"  scheduler: {scheduler}\n"


@pytest.mark.parametrize(("scheduler", "message", "at"), [
    ("{step: {step_size: 20}}", "step_size 20 is never reached: the schedule runs 20 epochs, so the learning "
                                "rate never decays", "20}"),
    ("{step: {step_size: 15, warmup_epochs: 5}}", "step_size 15 is never reached: the schedule runs 15 epochs after "
                                                  "the 5-epoch warm-up", "15,"),
    ("{multistep: {milestones: [10, 25]}}", "milestone 25 is at or past the end of the schedule's 20 epochs", "[10"),
    ("{multistep: {milestones: [16, 18], warmup_epochs: 5}}", "milestones 16, 18 are at or past the end of the "
                                                              "schedule's 15 epochs after the 5-epoch warm-up, so the "
                                                              "learning rate never decays", "[16"),
    ("{cosine: {warmup_epochs: 19}}", "the 19-epoch warm-up leaves the schedule one of the 20 epochs, which runs at "
                                      "the full learning rate: the rate never decays", "19}"),
    ("{cosine: {T_max: 10000}}", "T_max 10000 is so much longer than the schedule's 20 epochs that the last epoch "
                                 "still runs at 100 % of the way from eta_min to lr: the rate hardly decays", "10000"),
    ("{exponential: {gamma: 1.05}}", "gamma 1.05 multiplies the learning rate up at every decay", "1.05"),
    ("{step: {step_size: 5, gamma: 1}}", "gamma 1 keeps the learning rate as it is at every decay", "1}"),
    ("{cosine: {eta_min: 0.1}}", "eta_min 0.1 is not below the learning rate 0.1: the cosine stays flat", "0.1}"),
    ("cosine", "a run of 1 epoch never steps the schedule: it trains at the full learning rate", "cosine"),
    ("{cosine: {T_max: 10}}", "T_max 10 is shorter than the schedule's 20 epochs: the cosine reaches eta_min after "
                              "10 epochs and then climbs back towards lr over the last 9", "10}"),
    ("{linear: {start_factor: 0.5, end_factor: 0.5}}", "start_factor and end_factor are both 0.5: the rate stays at "
                                                       "0.5·lr", "0.5}"),
    ("{polynomial: {power: 0}}", "power 0 keeps the learning rate as it is: (1 − e/total_iters)^0 is 1", "0}"),
    ("{linear: {start_factor: 1.0, end_factor: 0.0, total_iters: 500}}", "total_iters 500 is so much longer than the "
                                                                         "schedule's 20 epochs that the last epoch has "
                                                                         "gone 4 % of the way from start_factor to "
                                                                         "end_factor: the rate hardly changes", "500"),
    ("{polynomial: {total_iters: 1000, warmup_epochs: 2}}", "total_iters 1000 is so much longer than the schedule's 18 "
                                                            "epochs after the 2-epoch warm-up that the last epoch has "
                                                            "gone 2 % of the way from lr to 0", "1000"),
])
def test_ineffective_schedule_says_what_the_rate_does(scheduler, message, at):
    text = scheduled(scheduler, epochs=1 if scheduler == "cosine" else 20)
    [finding] = [d for d in lint(text, "x.yaml", ["T111"]).diagnostics]
    assert finding.message.startswith(message)
    line = text.splitlines()[finding.loc.line - 1]
    assert line.startswith("  scheduler:") and finding.loc.col == line.index(at) + 1


@pytest.mark.parametrize("scheduler", ["cosine", "{cosine: {warmup_epochs: 5, eta_min: 0.001}}",
                                       "{cosine: {T_max: 30}}", "{cosine: {T_max: 19}}", "{step: {step_size: 7}}",
                                       "{multistep: {milestones: [5, 14], warmup_epochs: 5}}",
                                       "{exponential: {gamma: 0.9}}", "linear", "{polynomial: {total_iters: 20}}",
                                       "{linear: {start_factor: 1.0, end_factor: 0.0, total_iters: 20}}",
                                       "{polynomial: {total_iters: 100, power: 2.0}}", "plateau"])
def test_a_schedule_that_decays_within_the_run_is_not_reported(scheduler):
    assert lint(scheduled(scheduler), "x.yaml", ["T111"]).diagnostics == []


@pytest.mark.parametrize(("scheduler", "extra", "message", "at", "hint"), [
    ("plateau", "", "patience 10 lets the plateau schedule lower the rate at the earliest for epoch 13 (one epoch sets "
                    "the best, 11 more without improvement), but the run has 12: the rate never changes", "plateau",
     "a patience below 10, or more epochs"),
    ("{plateau: {patience: 4, min_lr: 0.1}}", "", "min_lr 0.1 is not below the learning rate 0.1: the plateau "
                                                  "schedule never lowers it", "0.1}", "a min_lr below 0.1, or 0"),
    ("{plateau: {patience: 4}}", "  early_stopping: 5\n", "early stopping ends the run 5 epochs after the best "
                                                           "val_loss, and the plateau schedule (patience 4) lowers the "
                                                           "rate only after 5 without improvement: no epoch trains at "
                                                           "the lowered rate", "4}",
     "an early_stopping patience of at least 6, or a plateau patience below 4"),
    ("{plateau: {monitor: val_accuracy, patience: 2}}", "  early_stopping: {patience: 1, monitor: val_accuracy}\n",
     "early stopping ends the run 1 epoch after the best val_accuracy", "2}", "an early_stopping patience of at least "
                                                                             "4"),
    ("{plateau: {patience: 4, eps: 0.09}}", "", "eps 0.09 is not below the change the plateau schedule would make "
                                                "(0.1 to 0.01): torch skips a change that small", "0.09}",
     "an eps below 0.09 (torch's default is 1e-8)"),  # 0.1 − 0.01 = 0.09 ≤ eps: ReduceLROnPlateau keeps the rate
])
def test_a_plateau_that_never_lowers_the_rate_says_why(scheduler, extra, message, at, hint):
    text = scheduled(scheduler, epochs=12) + extra
    [finding] = lint(text, "x.yaml", ["T116"]).diagnostics
    assert finding.message.startswith(message) and finding.hint == hint
    line = text.splitlines()[finding.loc.line - 1]
    assert line.startswith("  scheduler:") and finding.loc.col == line.index(at, len("  scheduler:")) + 1


@pytest.mark.parametrize(("scheduler", "extra"), [
    ("{plateau: {patience: 9}}", ""),  # the lowered rate trains the 12th epoch
    ("{plateau: {patience: 4}}", "  early_stopping: 6\n"),
    ("{plateau: {patience: 4, eps: 0.08}}", ""),  # a step of 0.09 is larger
    ("{plateau: {patience: 4}}", "  early_stopping: {patience: 2, monitor: val_accuracy}\n"),  # another number
    ("{step: {step_size: 5}}", "  early_stopping: 1\n"),
])
def test_a_plateau_with_room_to_lower_the_rate_is_not_reported(scheduler, extra):
    assert lint(scheduled(scheduler, epochs=12) + extra, "x.yaml", ["T116"]).diagnostics == []


def per_position(classes: int, extra: str = "") -> str:
    return ("input: [T]\nsymbols: {T: 32, V: 100}\nlayers: [embedding: {vocab: V, dim: 48}, linear: V]\n"
            f"train: {{classes: {classes}{extra}}}\n")


@pytest.mark.parametrize(("text", "message"), [
    (per_position(100), None),  # [T, V] against targets [T]: training finds the class axis, the last
    (per_position(32), None),  # [T, V] against targets [V]: as ambiguous to the linter as to torch
    (per_position(90), "the model outputs [32, 100] per sample, and no axis of it has the 90 class scores train: "
                       "says (classes: 90); cross_entropy needs one logit per class on one axis"),
    (per_position(100, ", class_axis: 0"), "the model outputs 32 scores on its class axis (axis 0 of [32, 100]) "
                                           "but train: says classes: 100; cross_entropy needs one logit per class"),
    ("input: [3, 16, 16]\nlayers: [conv2d: {out: 5, kernel: 1}]\ntrain: {classes: 5}\n", None),  # segmentation
])
def test_output_classes_mismatch_finds_the_class_axis_of_a_per_position_output(text, message):
    found = [d.message for d in lint(text, "x.yaml", ["T104"]).diagnostics]
    assert found == ([message] if message else [])


@pytest.mark.parametrize(("final", "binary"), [("  - sigmoid\n", "bce (after the sigmoid)"), ("", "bce_with_logits")])
def test_one_output_for_two_classes_offers_the_binary_loss_too(final, binary):
    text = f"input: [8]\nlayers:\n  - linear: 16\n  - relu\n  - linear: 1\n{final}train: {{classes: 2}}\n"
    [finding] = [d for d in lint(text, "x.yaml", ["T104"]).diagnostics]
    assert finding.hint == ("set out: 2 on `2` (or correct classes:), or keep the one output for the yes/no answer "
                            f"and use loss: {binary}")


@pytest.mark.parametrize(("text", "message"), [
    ("input: [20]\nlayers: [linear: 16, relu, linear: 1]\ntrain: {task: classification, loss: cross_entropy}\n",
     "the model outputs 1 value per sample and cross_entropy takes the softmax over it, which is 1: the loss is 0 "
     "whatever the model predicts, so nothing learns"),
    ("input: [1, 8, 8]\nlayers: [conv2d: {out: 3, kernel: 1}, sigmoid]\ntrain: {classes: 2, loss: dice}\n",
     "the model outputs 3 scores on its class axis (axis 0 of [3, 8, 8]) but train: says classes: 2; dice needs "
     "one probability per class"),
])
def test_output_classes_mismatch_on_one_score_and_on_dice(text, message):
    assert [d.message for d in lint(text, "x.yaml", ["T104"]).diagnostics] == [message]


@pytest.mark.parametrize("text", [
    # a binary mask: one probability, two classes; or one per class
    "input: [1, 8, 8]\nlayers: [conv2d: {out: 1, kernel: 1}, sigmoid]\ntrain: {classes: 2, loss: dice}\n",
    "input: [1, 8, 8]\nlayers: [conv2d: {out: 2, kernel: 1}, softmax]\ntrain: {classes: 2, loss: dice}\n",
    "input: [20]\nlayers: [linear: 1, sigmoid]\ntrain: {task: classification, loss: bce}\n",
])
def test_output_classes_mismatch_is_silent_on_binary_masks_and_one_yes_no_output(text):
    assert lint(text, "x.yaml", ["T104"]).diagnostics == []


def test_loss_input_mismatch_says_what_dice_does_with_raw_scores():
    text = "input: [1, 8, 8]\nlayers: [conv2d: {out: 1, kernel: 1}]\ntrain: {classes: 2, loss: dice}\n"
    [finding] = lint(text, "x.yaml", ["T107"]).diagnostics
    assert "it divides by Σp + Σt + s, which raw scores can drive to 0 or below" in finding.message
    assert finding.hint.startswith("end the model with - sigmoid (a mask per channel")


def test_a_class_axis_outside_the_output_is_a_core_error_at_it_and_the_rules_still_run():
    text = "input: [10]\nlayers: [linear: 4, linear: 2]\ntrain: {task: classification, classes: 4, class_axis: 3}\n"
    found = lint(text, "x.yaml", ["T104", "A101"]).diagnostics
    assert [d.code for d in found] == ["A101", "E301"]
    finding = found[1]
    assert (finding.loc.line, finding.loc.col) == (3, 55)
    assert finding.message == ("class_axis 3 is not an axis of the output [2]: its axes are 0 … 0 (or −1 … −1 "
                               "from the last)")


def test_a_class_axis_outside_the_output_hides_no_rule():
    """The model built; only its train: section is wrong: every rule still reads it (S102 here)."""
    text = ("input: [3, 64, 64]\nlayers:\n  - repeat: 10\n    layers: [conv2d: {out: 16, kernel: 3, padding: 1}, "
            "relu]\n  - global_avgpool2d\n  - linear: 10\n  - softmax\ntrain: {classes: 10, class_axis: 1}\n")
    codes = {d.code for d in lint(text, "x.yaml", ["S102", "T104", "A109"]).diagnostics}
    assert codes == {"S102", "E301"}


@pytest.mark.parametrize("text", [
    # frame-level voice activity detection: a yes/no per frame
    "input: [200, 40]\nlayers: [gru: {hidden: 16}, linear: 1, sigmoid]\ntrain: {classes: 2, loss: bce}\n",
    # frame-level sound event detection: 10 labels per frame
    "input: [256, 40]\nlayers: [gru: {hidden: 16}, linear: 10]\ntrain: {classes: 10, multi_label: true}\n",
])
def test_output_classes_mismatch_lets_binary_losses_score_each_position(text):
    assert lint(text, "x.yaml", ["T104"]).diagnostics == []


@pytest.mark.parametrize(("shape", "layers", "train"), [
    ("[8]", "[linear: 1, sigmoid, flatten]", "{classes: 2, loss: bce}"),  # DCGAN: output.view(-1, 1).squeeze(1)
    # posteriors averaged over frames (dropout would not do: it scales the survivors past 1)
    ("[5, 8]", "[linear: 3, softmax: {dim: -1}, mean: 0]",
     "{classes: 3, loss: {cross_entropy: {inputs: probabilities}}}"),
    ("[5, 8]", "[linear: 4, log_softmax: {dim: -1}, select: {axis: 0, index: -1}]", "{classes: 4, loss: nll}"),
])
def test_probabilities_reshaped_or_selected_are_still_probabilities(shape, layers, train):
    text = f"input: {shape}\nlayers: {layers}\ntrain: {train}\n"
    assert [d.code for d in lint(text, "x.yaml", ["T105", "T107"]).diagnostics] == []


def test_dropout_after_the_sigmoid_is_not_probabilities():
    """Dropout scales the survivors by 1/(1 − p): BCELoss raises on them."""
    text = "input: [8]\nlayers: [linear: 1, sigmoid, dropout: 0.5]\ntrain: {classes: 2, loss: bce}\n"
    assert [d.code for d in lint(text, "x.yaml", ["T105"]).diagnostics] == ["T105"]


def test_label_mode_mismatch_reports_both_lines_of_a_multi_label_softmax():
    """Stack Overflow 41589126: softmax and categorical cross-entropy over ten labels a sample may all carry;
    the answer changes both lines (sigmoid, binary cross-entropy), so both are reported."""
    text = ("input: [64]\nlayers:\n  - linear: 10\n  - softmax\ntrain:\n  task: classification\n"
            "  multi_label: true\n  loss: {cross_entropy: {inputs: probabilities}}\n")
    found = [(d.loc.line, d.message.split(":")[0]) for d in lint(text, "x.yaml", ["T109"]).diagnostics]
    assert found == [(4, "`1` (softmax) makes the classes compete, but a sample of this multi-label classification "
                         "can carry several labels"),
                     (8, "cross_entropy expects exactly one class per sample, but the classification is multi-label")]


def sgd(lr: float, clip: str = "") -> str:
    return f"input: [10]\nlayers: [linear: 3]\ntrain:\n  optimizer: {{sgd: {{lr: {lr}}}}}\n{clip}"


@pytest.mark.parametrize(("text", "message"), [
    (sgd(20), "learning rate 20 is outside [1e-07, 10] for sgd: steps this large make training diverge or oscillate"),
    (sgd(20, "  clip_grad_norm: 0.25\n"), None),  # PyTorch's word_language_model
    (sgd(30, "  clip_grad_norm: 0.25\n"), None),  # AWD-LSTM
    (sgd(100, "  clip_grad_norm: 0.25\n"), None),
    (sgd(150, "  clip_grad_norm: 0.25\n"), "learning rate 150 is outside [1e-07, 100] for sgd with clip_grad_norm: "
                                           "steps this large make training diverge or oscillate"),
    (sgd(30, "  clip_grad_norm: 1.0\n"), "learning rate 30 is outside [1e-07, 25] for sgd with clip_grad_norm: "
                                         "steps this large make training diverge or oscillate"),  # lr·c ≤ 25
    (sgd(20, "  clip_grad_norm: 1000\n"), "learning rate 20 is outside [1e-07, 10] for sgd with clip_grad_norm: "
                                          "steps this large make training diverge or oscillate"),  # clips nothing
    (sgd(20, "  clip_grad_value: 0.25\n"), "learning rate 20 is outside [1e-07, 10] for sgd: steps this large make "
                                           "training diverge or oscillate"),  # bounds elements, not the step
    (sgd(1e-9, "  clip_grad_norm: 0.25\n"), "learning rate 1e-09 is outside [1e-07, 100] for sgd with "
                                            "clip_grad_norm: updates this small are lost in float32 rounding, so "
                                            "nothing learns"),
    ("input: [10]\nlayers: [linear: 3]\ntrain: {optimizer: {adam: {lr: 0.5}}, clip_grad_norm: 1.0}\n",
     "learning rate 0.5 is outside [1e-07, 0.05] for adam: adam moves every weight by about lr per step, so steps "
     "this large make training diverge"),  # Adam's step does not scale with the gradient: clipping changes nothing
])
def test_sgds_learning_rate_bound_follows_the_clipped_step(text, message):
    found = [d for d in lint(text, "x.yaml", ["T101"]).diagnostics if d.code == "T101"]
    assert [d.message for d in found] == ([message] if message else [])
    if message and "clip_grad_norm" in message:
        assert found[0].hint == "typical values for sgd with clip_grad_norm: 1 to 30 (PyTorch's word_language_model: " \
                                "20 with clip_grad_norm 0.25)"
        assert (found[0].loc.line, found[0].loc.col) == (4, 25)


@pytest.mark.parametrize("after", ["maxpool2d: 16\n  - flatten", "global_avgpool2d",
                                   "adaptive_avgpool2d: 1\n  - flatten", "upsample: {scale: 4, mode: bilinear}",
                                   "upsample: 4"])
def test_probabilities_pooled_or_interpolated_are_still_probabilities(after):
    """A multiple-instance network's bag probability (the maximum or the mean of its patches'), a mask upsampled
    to the image: bce on them is right (T105 said error: 'bce without sigmoid')."""
    text = ("input: [3, 64, 64]\nlayers:\n  - conv2d: {out: 8, kernel: 3, stride: 4, padding: 1}\n  - relu\n"
            f"  - conv2d: {{out: 1, kernel: 1}}\n  - sigmoid\n  - {after}\n"
            "train: {task: classification, classes: 2, loss: bce}\n")
    assert [d.code for d in lint(text, "x.yaml", ["T105", "T107", "A103"]).diagnostics] == []
    assert [d.code for d in lint(text.replace("  - sigmoid\n", ""), "x.yaml", ["T105"]).diagnostics] == ["T105"]


@pytest.mark.parametrize(("after", "codes"), [
    ("pixel_shuffle: 2", []),  # a permutation of the values into a finer grid (Trait.KEEPS_RANGE)
    ("dropout: 0.5", ["T105"]),  # training scales what it keeps by 1/(1 − p) = 2: BCELoss raises on it
])
def test_probabilities_shuffled_into_space_are_still_probabilities(after, codes):
    """A sub-pixel head's per-pixel probabilities (sigmoid, then pixel_shuffle) are what bce takes: T105 said
    error, 'not confined to [0, 1]', as it still rightly does for dropout after the sigmoid."""
    text = ("input: [3, 64, 64]\nlayers:\n  - conv2d: {out: 8, kernel: 3, stride: 4, padding: 1}\n  - relu\n"
            f"  - conv2d: {{out: 4, kernel: 1}}\n  - sigmoid\n  - {after}\n"
            "train: {task: regression, target_range: [0, 1], loss: bce}\n")
    assert [d.code for d in lint(text, "x.yaml", ["T105", "T107", "A103"]).diagnostics] == codes


@pytest.mark.parametrize(("optimizer", "found"), [
    ("{rmsprop: {lr: 0.064, alpha: 0.9, eps: 0.0316, momentum: 0.9}}", None),  # MobileNetV3's TF recipe
    ("{rmsprop: {lr: 0.256, alpha: 0.9, eps: 0.0316, momentum: 0.9}}", None),  # EfficientNet's
    ("{rmsprop: {lr: 0.064, alpha: 0.9, momentum: 0.9}}", "outside [1e-07, 0.05]"),  # torch's eps 1e-8
    ("{adam: {lr: 0.5, eps: 0.01}}", "outside [1e-07, 0.1]"),  # SGD at rate 50: still too large
    ("{adamax: {lr: 0.5, eps: 0.1}}", None),  # Adamax's u ≥ eps: SGD at rate 5 at most
    ("{nadam: {lr: 0.5, eps: 0.01}}", "outside [1e-07, 0.1]"),
    ("{radam: {lr: 0.5, eps: 0.01}}", "outside [1e-07, 0.1]"),
    ("{adadelta: {lr: 20, eps: 0.1}}", "outside [1e-05, 10]"),  # Adadelta's eps enlarges its step: no cap
])
def test_a_large_eps_bounds_an_adaptive_step(optimizer, found):
    text = f"input: [10]\nlayers:\n  - linear: 3\ntrain: {{task: classification, classes: 3, optimizer: {optimizer}}}\n"
    messages = [d.message for d in lint(text, "x.yaml", ["T101"]).diagnostics]
    assert [m.split(" for ")[0].split("is ")[1] for m in messages] == ([found] if found else [])


@pytest.mark.parametrize(("objective", "found"), [
    ("", []),  # DCGAN's generator: only the optimizer's settings, its loss is the discriminator's
    ("task: classification, ", ["A103"]),
    ("loss: cross_entropy, ", ["A103"]),
    ("loss: bce, ", ["T105"]),
])
def test_the_loss_rules_judge_only_a_loss_or_task_the_spec_states(objective, found):
    text = ("input: [100]\nlayers:\n  - linear: 256\n  - relu\n  - linear: 784\n  - tanh\n"
            f"train: {{{objective}optimizer: {{adam: {{lr: 0.0002, betas: [0.5, 0.999]}}}}}}\n")
    assert [d.code for d in lint(text, "g.yaml", ["ALL"]).diagnostics] == found


@pytest.mark.parametrize(("activation", "loss", "found"), [
    ("relu", "cross_entropy", []),  # NiN's and SqueezeNet's head: softmax ignores the shift the relu leaves
    ("relu", "bce_with_logits, multi_label: true", ["A103"]),  # a sigmoid of relu'd scores is never below 0.5
    ("tanh", "cross_entropy", ["A103"]),  # pooled or not, the scores stay in (−1, 1)
    ("relu6", "cross_entropy", ["A103"]),
])
def test_activated_logits_lets_a_relu_pooled_over_the_positions_before_a_softmax_pass(activation, loss, found):
    text = (f"input: [3, 16, 16]\nlayers:\n  - conv2d: {{out: 8, kernel: 3, padding: 1}}\n  - relu\n"
            f"  - conv2d: {{out: 10, kernel: 1}}\n  - {activation}\n  - global_avgpool2d\n  - flatten\n"
            f"train: {{task: classification, classes: 10, loss: {loss}}}\n")
    assert [d.code for d in lint(text, "x.yaml", ["A103"]).diagnostics] == found


def test_torchvisions_squeezenet_trained_on_cross_entropy_has_no_activated_logits():
    text = (Path(__file__).parents[2] / "specs" / "squeezenet1_0.yaml").read_text(encoding="utf-8")
    text += "train: {task: classification, classes: 1000, loss: cross_entropy}\n"
    assert [d.code for d in lint(text, "squeezenet1_0.yaml", ["ALL"]).diagnostics if d.severity != "info"] == []


@pytest.mark.parametrize(("out", "final", "loss", "found"), [
    (2, "sigmoid", "{cross_entropy: {inputs: probabilities}}", ["T109"]),  # two sigmoids do not sum to 1
    (2, "softmax", "{cross_entropy: {inputs: probabilities}}", []),
    (1, "sigmoid", "bce", []),  # the binary form
    (2, "sigmoid", "bce", []),  # two yes/no columns of one-hot targets: Keras' idiom, T104's to judge
])
def test_label_mode_mismatch_on_two_classes_reports_two_sigmoids_under_cross_entropy(out, final, loss, found):
    text = (f"input: [6]\nlayers: [linear: 8, relu, linear: {out}, {final}]\n"
            f"train: {{task: classification, classes: 2, loss: {loss}}}\n")
    assert [d.code for d in lint(text, "x.yaml", ["T109"]).diagnostics] == found


def test_label_mode_mismatch_reads_a_maps_one_score_per_position_as_the_binary_form():
    """A [1, H, W] map of sigmoids is one yes/no per position, not two independent class probabilities (T104
    judges its one channel under cross_entropy); two channels on the class axis are."""
    def text(out: int, class_axis: str = "") -> str:
        return ("input: [1, 5, 5]\nlayers: [conv2d: {out: 4, kernel: 3, padding: 1}, relu, "
                f"conv2d: {{out: {out}, kernel: 1}}, sigmoid]\ntrain: {{task: classification, classes: 2, "
                f"{class_axis}loss: {{cross_entropy: {{inputs: probabilities}}}}}}\n")
    assert [d.code for d in lint(text(1), "x.yaml", ["T109"]).diagnostics] == []
    assert [d.code for d in lint(text(2, "class_axis: 0, "), "x.yaml", ["T109"]).diagnostics] == ["T109"]


@pytest.mark.parametrize(("final", "hint"), [
    (", softmax", "keep the two outputs, one per class, and use loss: {cross_entropy: {inputs: probabilities}}; or "
                  "set out: 1 on `2` and end in a sigmoid instead of the softmax"),  # Keras' Dense(2, softmax)
    ("", "keep the two outputs, one per class, and use loss: cross_entropy; or set out: 1 on `2`"),
    (", sigmoid", "keep the two outputs, one per class, and use loss: cross_entropy without the final sigmoid; or set "
                  "out: 1 on `2`"),
])
def test_two_outputs_under_a_binary_loss_are_offered_cross_entropy(final, hint):
    loss = "bce_with_logits" if not final else "bce"
    text = f"input: [20]\nlayers: [linear: 64, relu, linear: 2{final}]\n" \
           f"train: {{task: classification, classes: 2, loss: {loss}}}\n"
    [finding] = lint(text, "x.yaml", ["T104"]).diagnostics
    assert finding.hint == hint


@pytest.mark.parametrize(("optimizer", "found"), [
    ("adadelta", None),  # torch's default lr 1.0
    ("{adadelta: {lr: 0.001}}", None),  # tf.keras' default: slow, but it learns
    ("{adadelta: {lr: 10}}", None),
    ("{adadelta: {lr: 11}}", "learning rate 11 is outside [1e-05, 10] for adadelta: steps this large make training "
                             "diverge or oscillate"),
    ("{adadelta: {lr: 5.0e-6}}", "learning rate 5e-06 is outside [1e-05, 10] for adadelta: updates this small are "
                                 "lost in float32 rounding, so nothing learns"),
    ("adamax", None),
    ("nadam", None),
    ("radam", None),
    ("{adamax: {lr: 0.1}}", "learning rate 0.1 is outside [1e-07, 0.05] for adamax: adamax moves every weight by "
                            "about lr per step, so steps this large make training diverge"),
    ("{nadam: {lr: 0.1}}", "learning rate 0.1 is outside [1e-07, 0.05] for nadam: nadam moves every weight by about "
                           "lr per step, so steps this large make training diverge"),
    ("{radam: {lr: 1.0e-8}}", "learning rate 1e-08 is outside [1e-07, 0.05] for radam: updates this small are lost "
                              "in float32 rounding, so nothing learns"),
])
def test_each_optimizer_has_its_own_learning_rate_bounds(optimizer, found):
    text = f"input: [10]\nlayers: [linear: 3]\ntrain: {{classes: 3, optimizer: {optimizer}}}\n"
    assert [d.message for d in lint(text, "x.yaml", ["T101"]).diagnostics] == ([found] if found else [])


@pytest.mark.parametrize(("train", "codes"), [
    ("{optimizer: adam, weight_decay: 0.01}", ["T106"]),
    ("{optimizer: nadam, weight_decay: 0.01}", ["T106"]),
    ("{optimizer: {radam: {decoupled_weight_decay: false}}, weight_decay: 0.01}", ["T106"]),
    ("{optimizer: {nadam: {decoupled_weight_decay: true}}, weight_decay: 0.01}", []),
    ("{optimizer: {radam: {lr: 0.01, decoupled_weight_decay: true}}, weight_decay: 1.0}", ["T113"]),  # 1 % a step
    ("{optimizer: {radam: {lr: 0.01, decoupled_weight_decay: true}}, weight_decay: 0.9}", []),
    ("{optimizer: {radam: {lr: 0.01}}, weight_decay: 1.0}", ["T106"]),  # coupled: divided by the scale, unread
    ("{optimizer: adamax, weight_decay: 0.01}", []),  # no decoupled form in torch to offer
    ("{optimizer: adadelta, weight_decay: 0.5}", []),
])
def test_weight_decay_rules_read_each_optimizers_decay(train, codes):
    """T106: L2 through an Adam-like scaling that torch can decouple; T113: the decoupled shrink lr·λ ≥ 1 %."""
    text = f"input: [10]\nlayers: [linear: 3]\ntrain: {train}\n"
    found = [d for d in lint(text, "x.yaml", ["T106", "T113"]).diagnostics]
    assert [d.code for d in found] == codes
    if codes == ["T106"] and "adam," not in train:
        name = "nadam" if "nadam" in train else "radam"
        assert found[0].hint == f"add decoupled_weight_decay: true to {name}'s hyperparameters (torch's AdamW-style " \
                                "decay)"
    if codes == ["T113"]:
        assert found[0].message == "weight decay takes 1 % of every weight at every step (lr 0.01 × weight_decay 1): " \
                                   "the weights are held near zero"
        assert found[0].hint == "weight_decay 0.01 to 0.1 for radam's decoupled decay"


def model(layers: str, train: str) -> str:
    return f"input: [8]\nlayers: [linear: 16, relu, {layers}]\ntrain: {train}\n"


@pytest.mark.parametrize(("text", "code", "message", "hint"), [
    (model("linear: 1, sigmoid", "{classes: 2, loss: hinge}"), "T107",
     "hinge takes unbounded scores, but the model ends in `3` (sigmoid), which gives probabilities: it reads the sign "
     "of each output as its class, and outputs in [0, 1] are never below 0: the class 0 (read as −1) is never "
     "predicted, and its loss never falls to 0",
     "remove the final layer: a margin loss takes the raw scores of the last linear layer"),
    (model("linear: 3, log_softmax", "{classes: 3, loss: squared_hinge}"), "T107",
     "squared_hinge takes unbounded scores, but the model ends in `3` (log_softmax), which gives log-probabilities: "
     "it reads the sign of each output as its class, and log-probabilities are never above 0: the class 1 (+1) is "
     "never predicted, and its loss never falls to 0",
     "remove the final layer: a margin loss takes the raw scores of the last linear layer"),
    (model("linear: 3, softmax", "{classes: 3, loss: multi_margin}"), "T107",
     "multi_margin takes unbounded scores, but the model ends in `3` (softmax), which gives probabilities: it asks "
     "the true class's score to lead every other's by 1, and probabilities lead one another by less than 1: that "
     "margin can never be met", "remove the final layer: a margin loss takes the raw scores of the last linear layer"),
    (model("linear: 3, softmax", "{classes: 3, loss: {multi_margin: {margin: 0.5}}}"), "T107",
     "multi_margin takes unbounded scores, but the model ends in `3` (softmax), which gives probabilities: it asks "
     "the true class's score to lead every other's by 0.5, and probabilities lead one another by less than 1: that "
     "margin takes a saturated softmax, whose gradient vanishes",
     "remove the final layer: a margin loss takes the raw scores of the last linear layer"),
    (model("linear: 1", "{task: regression, loss: {poisson_nll: {log_input: false, eps: 1.0e-7}}}"), "T107",
     "poisson_nll with log_input: false takes the rate λ and computes log(λ + eps), but the model ends in `2` "
     "(linear), whose outputs go below 0: the log of a negative rate is NaN",
     "end the model with - softplus (a rate above 0), or drop log_input: false: torch's default takes log λ from the "
     "last linear layer and applies exp itself"),
    (model("linear: 1", "{classes: 2, loss: poisson_nll}"), "T103",
     "poisson_nll on a classification: it is the likelihood of counts: it fits each output's rate to its 0/1 "
     "targets on its own, and nothing makes the classes compete",
     "use loss: cross_entropy (one output per class) or bce_with_logits (one output for two classes)"),
    (model("linear: 3", "{classes: 3, loss: log_cosh}"), "T103",
     "log_cosh on a classification: it fits each output to its 0/1 target as a separate regression (squared error "
     "near it, absolute farther away): nothing makes the classes compete",
     "use loss: cross_entropy (one output per class) or bce_with_logits (one output for two classes)"),
    (model("linear: 1", "{task: regression, loss: hinge}"), "T103",
     "hinge on a regression: it treats the targets as class labels or probabilities, not real values",
     REGRESSION_HINT),
    (model("linear: 5", "{classes: 5, loss: hinge}"), "T109",
     "hinge treats each of the 5 classes as an independent yes/no, but each sample has exactly one: the outputs "
     "never learn that the classes exclude each other",
     "use loss: multi_margin (the true class's raw score against each other's), or say multi_label: true if samples "
     "can carry several labels"),
    (model("linear: 5", "{classes: 5, multi_label: true, loss: categorical_hinge}"), "T109",
     "categorical_hinge expects exactly one class per sample, but the classification is multi-label",
     "use loss: bce_with_logits (one yes/no per label)"),
    (model("linear: 1", "{loss: multi_margin}"), "T104",
     "the model outputs 1 value per sample and multi_margin compares the true class's score with the others', of "
     "which there are none, so nothing learns", "for a yes/no answer keep the one output and use loss: hinge; for C "
     "classes set out: C on `2` and classes: C"),
    (model("linear: 1", "{classes: 3, loss: soft_margin}"), "T104",
     "the model outputs 1 value per sample but train: says classes: 3; soft_margin needs one score per class",
     "set out: 3 on `2` (or correct classes:)"),
    (model("linear: 1, relu", "{task: regression, loss: poisson_nll, target_range: [0, 30]}"), "T108",
     "`3` (relu) outputs only values in [0, inf], whose exp (the rate poisson_nll predicts from its log) lies in "
     "[1, inf], but target_range is [0, 30]: the targets outside cannot be predicted",
     "end the model with its last linear layer: it gives log λ, and poisson_nll applies exp itself"),
])
def test_the_rules_know_what_each_margin_and_count_loss_takes(text, code, message, hint):
    """Keras' hinge, squared_hinge and categorical_hinge, torch's soft and multi margins, Poisson (torch's log
    rate, Keras' rate) and log-cosh: each rule reads what the loss takes and serves."""
    found = [(d.message, d.hint) for d in lint(text, "x.yaml", ["ALL"]).diagnostics if d.code == code]
    assert found == [(message, hint)]


@pytest.mark.parametrize("text", [
    model("linear: 1", "{classes: 2, loss: hinge}"),  # one raw score for two classes
    model("linear: 2", "{classes: 2, loss: squared_hinge}"),  # or one per class
    model("linear: 4", "{classes: 4, multi_label: true, loss: soft_margin}"),
    model("linear: 3", "{classes: 3, loss: categorical_hinge}"),
    model("linear: 3, log_softmax", "{classes: 3, loss: multi_margin}"),  # log_softmax keeps the margins
    model("linear: 1", "{task: regression, loss: poisson_nll}"),  # log λ from the linear layer
    model("linear: 1, softplus", "{task: regression, loss: {poisson_nll: {log_input: false, eps: 1.0e-7}}}"),
    model("linear: 1", "{task: regression, loss: log_cosh}"),
])
def test_a_margin_or_count_loss_given_what_it_takes_is_not_reported(text):
    assert [d for d in lint(text, "x.yaml", ["ALL"]).diagnostics if d.severity != "info"] == []


def test_activation_before_logits_loss_judges_only_a_loss_the_spec_states():
    """T102 (informational) as the other loss rules: a section of optimizer settings names no loss."""
    text = "input: [100]\nlayers: [linear: 10, softmax]\ntrain: {{{}optimizer: adam}}\n"
    assert [d.code for d in lint(text.format(""), "g.yaml", ["T102"]).diagnostics] == []
    assert [d.code for d in lint(text.format("loss: cross_entropy, "), "g.yaml", ["T102"]).diagnostics] == ["T102"]


@pytest.mark.parametrize(("scheduler", "message", "hint"), [
    # torch's PolynomialLR: rates 0.1, 0.08, …, 0.02, then 0 from the 6th of 20 epochs on
    ("polynomial", "total_iters 5 brings the learning rate to 0 after 5 of the schedule's 20 epochs: the last 15 "
                   "train at rate 0 and change nothing", "total_iters: 20, so that the rate reaches 0 only after the "
                                                         "last epoch"),
    ("{linear: {start_factor: 1.0, end_factor: 0.0, total_iters: 19}}", "total_iters 19 brings the learning rate to 0 "
     "after 19 of the schedule's 20 epochs: the last 1 train at rate 0 and change nothing", "total_iters: 20, so that "
                                                                                          "the rate reaches 0 only "
                                                                                          "after the last epoch"),
    ("{polynomial: {total_iters: 1000}}", "total_iters 1000 is so much longer than the schedule's 20 epochs that the "
     "last epoch has gone 2 % of the way from lr to 0", "total_iters: 20 ends the change at the last epoch, before "
                                                        "the rate reaches 0"),
])
def test_a_schedule_that_reaches_zero_before_the_run_ends_is_reported(scheduler, message, hint):
    [finding] = lint(scheduled(scheduler), "x.yaml", ["T111"]).diagnostics
    assert finding.message.startswith(message) and finding.hint == hint


def codes(text: str) -> list[str]:
    return [d.code for d in lint(text, "x.yaml").diagnostics]


@pytest.mark.parametrize("epochs", [1, 2])
def test_a_onecycle_run_of_one_epoch_is_stepped_every_batch_and_not_reported(epochs):
    """T111 says a one-epoch run never steps its schedule; onecycle's steps every batch, so it does not apply."""
    text = "input: [8]\nlayers: [linear: 3]\ntrain:\n  optimizer: sgd\n" \
           f"  epochs: {epochs}\n  scheduler: {{onecycle: {{max_lr: 0.1}}}}\n"
    assert codes(text) == []
    assert codes(text.replace("onecycle: {max_lr: 0.1}", "cosine: null")) == (["T111"] if epochs == 1 else [])


@pytest.mark.parametrize(("train", "found", "message"), [
    ("optimizer: adam, scheduler: {onecycle: {max_lr: 0.5}}", ["T101"],
     "the onecycle schedule's max_lr 0.5 is outside [1e-07, 0.05] for adam"),
    # PyTorch's SGD(params, lr=0.1, momentum=0.9) under OneCycleLR: a faithful translation, not a fault
    ("optimizer: {sgd: {lr: 0.1, momentum: 0.9}}, scheduler: {onecycle: {max_lr: 0.1}}", [], None),
    ("optimizer: {adamw: {lr: 0.001, betas: [0.9, 0.99]}}, scheduler: {onecycle: {max_lr: 0.01}}", [], None),
    ("scheduler: {onecycle: {max_lr: 0.1, div_factor: 1}}", ["T117"],
     "div_factor 1 starts the cycle at max_lr / 1, not below max_lr: the rate never rises"),
    ("optimizer: {sgd: {lr: 0.1}}, scheduler: {cosine_restarts: {T_0: 5, eta_min: 0.2}}", ["T111"],
     "eta_min 0.2 is not below the learning rate 0.1: the cosine raises the rate instead of annealing it"),
    ("epochs: 9, scheduler: {cosine_restarts: {T_0: 2, T_mult: 2, warmup_epochs: 2}}", ["T117"],
     "the run ends 1 epoch into a new 8-epoch cycle after the 2-epoch warm-up: its last epoch trains at 100 % of the "
     "way from eta_min back up to lr, just after a restart"),
    ("epochs: 11, scheduler: {cosine_restarts: {T_0: 2, T_mult: 2}}", [], None),  # 2 + 4 = 6, then 5 of 8: half way
    ("epochs: 6, scheduler: {cosine_restarts: {T_0: 2, T_mult: 2}}", [], None),  # ends with the second cycle
    ("epochs: 8, scheduler: {cosine_restarts: {T_0: 10}}", [], None),  # inside the first cycle: a cosine
])
def test_the_rules_read_the_cyclic_schedules(train, found, message):
    text = f"input: [8]\nlayers: [linear: 3]\ntrain: {{{train}}}\n"
    diagnostics = lint(text, "x.yaml").diagnostics
    assert [d.code for d in diagnostics] == found
    if message:
        assert diagnostics[0].message.startswith(message)


@pytest.mark.parametrize(("optimizer", "schedule", "found"), [
    ("{sgd: {momentum: 0.9}}", "{onecycle: {max_lr: 1.0}}", ["weight decay takes 6.67 % of every weight at every "
                                                             "step (onecycle's max_lr 1 × weight_decay 0.01 / (1 − "
                                                             "momentum 0.85))"]),
    ("{sgd: {lr: 1.0, momentum: 0.9}}", "{onecycle: {max_lr: 0.01}}", []),  # the optimizer's lr is never used
    ("{adamw: {lr: 1.0e-3}}", "{onecycle: {max_lr: 2.0}}", ["weight decay takes 2 % of every weight at every step "
                                                            "(onecycle's max_lr 2 × weight_decay 0.01)"]),
])
def test_weight_decay_too_large_reads_onecycles_peak(optimizer, schedule, found):
    text = ("input: [4]\nlayers: [linear: 3]\ntrain: {task: classification, classes: 3, weight_decay: 0.01, "
            f"optimizer: {optimizer}, scheduler: {schedule}, epochs: 3}}\n")
    assert [d.message.split(":")[0] for d in lint(text, "x.yaml", ["T113"]).diagnostics] == found
