"""The lint rules, one module each, and the one table that gives them their codes.

The letter of a code says what the rule looks at, the first digit groups it inside that letter:

- ``E`` — the core refuses the spec (it cannot be read or built): ``E0`` file and YAML,
  ``E1`` structure, names and arguments, ``E2`` shapes, ``E3`` the ``train:`` section.
- ``A`` — activations: non-linearity, saturation, what reaches the loss.
- ``N`` — normalisation, dropout, bias, initialisation and the data's scale.
- ``G`` — geometry of sliding windows: kernels, strides, padding against the input size.
- ``S`` — structure of the whole network: depth, skips, downsampling, parameters, unused definitions.
- ``T`` — the training setup: loss, task, output head, optimizer.
- ``M`` — the lint comments themselves.
A code, once given, is never reused for another rule. Add a rule: write its module (see any one here), add
one line below, add ``tests/lint/fixtures/CODE.yaml`` and ``CODE.ok.yaml``."""

#: code → rule module; the registry checks at import that no code or name appears twice
CODES: tuple[tuple[str, str], ...] = (
    # E0: the file and its YAML
    ("E001", "yaml_syntax"),
    ("E002", "forbidden_tag"),
    ("E003", "empty_spec"),
    ("E004", "resource_limit"),
    # E1: structure, names and arguments
    ("E101", "unknown_key"),
    ("E102", "missing_key"),
    ("E103", "bad_structure"),
    ("E104", "bad_name"),
    ("E105", "unknown_kind"),
    ("E106", "unknown_argument"),
    ("E107", "missing_argument"),
    ("E108", "bad_argument"),
    ("E109", "bad_expression"),
    ("E110", "undefined_symbol"),
    ("E111", "bad_block"),
    ("E112", "block_arguments"),
    ("E113", "block_cycle"),
    ("E114", "bad_budget"),
    ("E115", "bad_tie"),
    ("E116", "undecidable_condition"),
    # E2: shapes
    ("E201", "bad_input_shape"),
    ("E202", "channel_mismatch"),
    ("E203", "non_positive_size"),
    ("E204", "residual_mismatch"),
    ("E205", "concat_mismatch"),
    ("E206", "broadcast_mismatch"),
    ("E207", "attention_mismatch"),
    # E3: the train: section
    ("E301", "bad_train"),
    ("E302", "bad_learning_rate"),
    ("E303", "bad_momentum"),
    ("E304", "bad_weight_decay"),
    # A: activations
    ("A101", "linear_collapse"),
    ("A102", "deep_saturating_stack"),
    ("A103", "activated_logits"),
    ("A104", "implicit_softmax_dim"),
    ("A105", "zero_gradient_activation"),
    ("A106", "redundant_activation"),
    ("A107", "softmax_over_one"),
    ("A108", "missing_activation"),
    ("A109", "softmax_off_class_axis"),
    ("A110", "dense_input_layer"),
    ("A111", "hidden_softmax"),
    # N: normalisation, dropout, bias
    ("N101", "dropout_drops_everything"),
    ("N102", "high_dropout"),
    ("N103", "dropout_at_output"),
    ("N104", "dropout_before_batchnorm"),
    ("N105", "bias_before_batchnorm"),
    ("N106", "batchnorm_batch_of_one"),
    ("N107", "unnormalized_data"),
    ("N108", "symmetric_init"),
    ("N109", "recurrent_dropout_one_layer"),
    ("N110", "dropout_before_maxpool"),
    ("N111", "stochastic_depth_without_shortcut"),
    ("N112", "zero_init_before_relu"),
    ("N113", "misread_norm_setting"),
    # G: window geometry
    ("G101", "dropped_input_rows"),
    ("G102", "kernel_larger_than_input"),
    ("G103", "small_receptive_field"),
    ("G104", "misaligned_receptive_fields"),
    ("G105", "checkerboard_upsampling"),
    ("G106", "channels_last_input"),
    # S: structure
    ("S101", "deep_plain_network"),
    ("S102", "missing_downsampling"),
    ("S103", "parameter_hotspot"),
    ("S104", "unused_block"),
    ("S105", "unused_symbol"),
    ("S106", "missing_flatten"),
    ("S107", "over_budget"),
    ("S108", "deep_transformer_without_norm"),
    ("S109", "missing_causal_mask"),
    ("S110", "deep_plain_rnn"),
    ("S111", "shrinking_feature_maps"),
    ("S112", "widening_after_bottleneck"),
    ("S113", "attention_without_positions"),
    ("S114", "full_resolution_flatten"),
    ("S115", "bidirectional_last_step"),
    ("S116", "swapped_axes"),
    ("S117", "reshape_moves_channels"),
    ("S118", "single_step_recurrence"),
    # T: training setup
    ("T101", "learning_rate_out_of_range"),
    ("T102", "activation_before_logits_loss"),
    ("T103", "loss_task_mismatch"),
    ("T104", "output_classes_mismatch"),
    ("T105", "bce_without_sigmoid"),
    ("T106", "adam_weight_decay"),
    ("T107", "loss_input_mismatch"),
    ("T108", "bounded_regression_output"),
    ("T109", "label_mode_mismatch"),
    ("T110", "dying_relu_output"),
    ("T111", "ineffective_schedule"),
    ("T112", "smoothing_erases_labels"),
    ("T113", "weight_decay_too_large"),
    ("T114", "bce_regression"),
    ("T115", "nothing_trainable"),
    ("T116", "plateau_never_lowers"),
    ("T117", "ineffective_cycle"),
    # M: lint comments
    ("M101", "unused_suppression"),
)

#: core error codes that are about the invocation, not about a spec's content: the linter exits 2
#: on them instead of reporting a finding (a file it cannot read, a bad --set, a write that failed)
NOT_FINDINGS: dict[str, str] = {
    "unreadable-file": "a missing, unreadable, binary or non-UTF-8 file is a usage problem (exit 2)",
    "usage": "a bad command-line value (--set); lint takes no --set",
    "output-error": "writing a file failed (exports, --fix); reported as an error, exit 2",
    "missing-dependency": "an optional package (torch, onnx) is not installed; the export exits 2",
    "export-unsupported": "raised by an exporter for what its target cannot express; lint never exports",
    "bad-data": "archcalc train: the data file is unusable; lint reads no data",
    "data-mismatch": "archcalc train: the data do not fit the spec's input or classes; lint reads no data",
    "diverged": "archcalc train: the loss became NaN or infinite while training",
    "not-probabilities": "archcalc train: bce met outputs outside [0, 1] while training; lint reports the cause (T105)",
    "bad-checkpoint": "archcalc train --resume: a checkpoint is damaged or does not fit; lint reads none",
    "checkpoint-mismatch": "archcalc train --resume: a checkpoint belongs to another run; lint reads none",
    "training-failed": "archcalc train --nproc: a training process ended without a result",
    "bad-config": "archcalc import: the config.json is not one of a model (a size missing or wrong); lint reads specs",
    "unsupported-config": "archcalc import: the config.json has a setting the spec language cannot express",
    "sliding-window": "archcalc import: a warning that outputs agree only up to the attention window",
    "base-model": "archcalc import: a warning that a config naming no architectures imports without its head",
    "training-only": "archcalc import: a training-only setting (router jitter, OPT's layerdrop) left out, a warning",
    "initial-values": "archcalc import: a warning that DistilBERT's sinusoidal position table is only its start",
    "ignored-setting": "archcalc import: a warning that a setting the family's code never applies is left out",
    "unsupported-model": "archcalc import: a PyTorch model with a construct the spec language cannot express",
}
