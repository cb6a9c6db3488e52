"""The learning rate is outside the range its optimizer can train with.

## What it does
Reports an optimizer `lr` below 1e-7 (1e-5 for `adadelta`), or above the largest rate that
optimizer trains with: 0.05 for the adaptive optimizers (`adam`, `adamw`, `rmsprop`, `adamax`,
`nadam`, `radam`), 1 for `adagrad`, 10 for `sgd` and `adadelta`, and 100 for `sgd` when
`clip_grad_norm` clips the gradients' norm. (An `lr` of 0 or less is refused by the core:
`bad-learning-rate`, E302.)

## Why is this bad?
The adaptive optimizers divide each gradient component by its running root-mean-square, so every
step moves every weight by about `lr` whatever the gradient's size: above 0.05 a step is as large as
a typical initial weight (1/√fan-in is 0.03–0.1 for fan-ins of 100–1000), and training diverges or
thrashes. Adamax divides by the running maximum of |g| rather than the root-mean-square, NAdam's
Nesterov step and RAdam's rectified one are Adam's with other coefficients: each moves a weight by
about `lr` too (RAdam's first steps, while the variance of its rate is not yet defined, are momentum
SGD at rate `lr`, which 0.05 keeps far below SGD's bound). Adadelta's `lr` is not a step size but a
factor on its own step √(u + eps)/√(v + eps)·g, which begins near √eps/√(1 − ρ), 3e-3 at torch's
defaults, stays there while the gradients are noise, and grows slowly (to 0.02 in 5000 steps) only
while they keep one sign: torch's default, and Zeiler's, is 1, and 10 makes its first steps 0.03,
near the adaptive optimizers' 0.05, so its bound is 10.
Adagrad's steps shrink as its accumulator grows, so it tolerates more. SGD's step is `lr`
times the gradient, whose size depends on the loss and the network: a sigmoid network trained on
squared error takes rates of 3 (Nielsen's MNIST example), so only rates above 10 are certainly too
large. Clipping the gradients' total norm to c (`clip_grad_norm: c`, torch's `clip_grad_norm_`)
bounds SGD's step at lr·c whatever the gradient (lr·c/(1 − μ) with momentum μ), which is how
recurrent language models train with plain SGD at large rates: PyTorch's word_language_model example
at lr 20 with clip 0.25, AWD-LSTM (Merity et al.) at 30. With `clip_grad_norm`, SGD's bound is
therefore 25/c, between 10 and 100: a clipped step up to 25, about three times the largest of those
recipes (AWD-LSTM's 30 × 0.25 = 7.5), the margin that 10 leaves over Nielsen's 3; a bound so loose
that it clips nothing (`clip_grad_norm: 1000`) leaves SGD's 10. Clipping lifts no other bound: the
adaptive optimizers' step is about lr whatever the gradient's size, and `clip_grad_value` clamps
each element, so the step it allows grows with the square root of the number of weights. A large
`eps` caps an adaptive step too: the step is lr·m/(√v + eps), at most lr·|g|/eps, SGD's at rate
lr/eps; TensorFlow's RMSProp recipes (MobileNetV3's lr 0.064, EfficientNet's 0.256) keep eps 1e-3
inside the root, torch's eps 0.0316, so an adaptive optimizer's bound is the larger of its own and
eps times SGD's 10 (not Adadelta's: its eps is in the numerator too, and a larger one makes the step
larger). Below 1e-7, η·g is smaller than half of float32's spacing at 1 (2⁻²⁴ ≈ 6e-8) for
every gradient component g below about 0.6, so on weights of size 1 those updates round away and
nothing learns; Adadelta's step, lr times about 3e-3, is that small below lr 1e-5 (tf.keras' default
0.001 learns, slowly). Typical rates are 0.1–0.01 for SGD and 1e-3 for Adam.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {adam: {lr: 0.5}}
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {adam: {lr: 0.001}}
```

## References
- The lecture notes on backpropagation and optimisation: too small is slow,
  too large diverges or oscillates.
- UMLAUT (Schoop et al., CHI 2021): learning-rate range heuristics (a static check below 1e-7).
- Kingma & Ba, "Adam", ICLR 2015, section 2.1: the effective step is bounded by about the step size α.
- Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML 2013:
  gradient norm clipping; PyTorch's examples/word_language_model (`--lr 20 --clip 0.25`); Merity et
  al., "Regularizing and Optimizing LSTM Language Models", ICLR 2018 (SGD at lr 30, clip 0.25).
- DeepFD (Cao et al., ICSE 2022) and AUTOTRAINER (Zhang et al., ICSE 2021): a learning rate too large for the
  optimizer is among the most frequent training faults.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True
LOW = 1e-7
#: a higher floor where lr scales a step that is itself small (see "Why is this bad?")
LOWEST = {"adadelta": 1e-5}
#: the largest learning rate each optimizer trains with (see "Why is this bad?")
HIGH = {"sgd": 10.0, "adagrad": 1.0, "rmsprop": 0.05, "adam": 0.05, "adamw": 0.05, "adadelta": 10.0,
        "adamax": 0.05, "nadam": 0.05, "radam": 0.05}
#: SGD's bound when ``clip_grad_norm`` bounds its step at lr·max_norm (see "Why is this bad?")
HIGH_CLIPPED_SGD = 100.0
#: the largest clipped step lr·max_norm (three times AWD-LSTM's 30 × 0.25)
CLIPPED_STEP = 25.0
TYPICAL_CLIPPED_SGD = "1 to 30 (PyTorch's word_language_model: 20 with clip_grad_norm 0.25)"
TYPICAL = {"sgd": "0.1 to 0.01", "adagrad": "0.01 to 0.1", "rmsprop": "0.001 to 0.01", "adam": "0.001 (3e-4 to 3e-3)",
           "adamw": "0.001 (3e-4 to 3e-3)", "adadelta": "1.0 (torch's default; 0.1 to 1)",
           "adamax": "0.002 (torch's default; 5e-4 to 5e-3)", "nadam": "0.002 (torch's default; 5e-4 to 5e-3)",
           "radam": "0.001 (3e-4 to 3e-3)"}
#: the optimizers whose step is lr·m/(√v + eps) or lr·m/u with u ≥ eps: a large eps caps it at SGD's at lr/eps
EPS_CAPPED = ("adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam", "radam")


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None:
        return
    optimizer = train.optimizer
    clipped = optimizer.name == "sgd" and train.clip_grad_norm is not None
    lr, high = optimizer.lr, HIGH[optimizer.name]
    where, what = optimizer.locs.get("lr", optimizer.loc), "learning rate"
    if train.scheduler is not None and train.scheduler.per_batch:  # onecycle sets every rate from max_lr, its peak
        rule = train.scheduler
        lr, where, what = rule.settings["max_lr"], rule.locs.get("max_lr", rule.loc), "the onecycle schedule's max_lr"
    if clipped:  # the clipped step lr·c bounded, whatever the gradient
        high = min(HIGH_CLIPPED_SGD, max(high, CLIPPED_STEP / train.clip_grad_norm))
    if optimizer.name in EPS_CAPPED:  # a step lr·m/(√v + eps) is at most SGD's at rate lr/eps
        high = max(high, float(optimizer.hyper.get("eps", 0.0)) * HIGH["sgd"])
    low = LOWEST.get(optimizer.name, LOW)
    if low <= lr <= high:
        return
    name = f"{optimizer.name} with clip_grad_norm" if clipped else optimizer.name
    if lr > high:
        why = f"{optimizer.name} moves every weight by about lr per step, so steps this large make training diverge" \
            if high < 1 else "steps this large make training diverge or oscillate"
    else:
        why = "updates this small are lost in float32 rounding, so nothing learns"
    yield Finding(where, f"{what} {lr:g} is outside [{low:g}, {high:g}] for {name}: {why}",
                  hint=f"typical values for {name}: {TYPICAL_CLIPPED_SGD if clipped else TYPICAL[optimizer.name]}")
