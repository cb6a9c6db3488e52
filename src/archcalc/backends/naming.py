"""Turning spec names into Python identifiers that are safe to emit into generated code.

A layer name in a spec is any string without a dot. Before it becomes an attribute or a variable
in a generated file it goes through :class:`Namer`: NFKC-normalised, every character outside
``[0-9A-Za-z_]`` replaced, never a keyword, soft keyword, builtin, dunder or a name the emitter
itself uses, and de-duplicated. The result always satisfies ``str.isidentifier()``.

    >>> Namer().name("__import__('os')")
    'import___os'
    >>> Namer().name("class")
    'class_'
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

_BAD = re.compile(r"[^0-9A-Za-z_]+")
_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
MAX_LENGTH = 64

#: the attribute names of torch's containers (nn.Module, nn.Sequential, nn.ModuleDict) and archcalc's Network
#: under torch 2.13, for backends that must name weights as torch does without importing it (the NumPy
#: backend); tests/test_generated_names.py checks it against torch.backends.torch.build.taken_by_torch()
TORCH_TAKEN = frozenset({
    "T_destination", "__add__", "__annotations__", "__call__", "__class__", "__contains__", "__delattr__",
    "__delitem__", "__dict__", "__dir__", "__doc__", "__eq__", "__format__", "__ge__", "__getattr__",
    "__getattribute__", "__getitem__", "__getstate__", "__gt__", "__hash__", "__iadd__", "__imul__", "__init__",
    "__init_subclass__", "__iter__", "__le__", "__len__", "__lt__", "__module__", "__mul__", "__ne__",
    "__new__", "__reduce__", "__reduce_ex__", "__repr__", "__rmul__", "__setattr__", "__setitem__",
    "__setstate__", "__sizeof__", "__str__", "__subclasshook__", "__weakref__", "_apply", "_backward_hooks",
    "_backward_pre_hooks", "_buffers", "_call_impl", "_calls", "_compiled_call_impl", "_forward_hooks",
    "_forward_hooks_always_called", "_forward_hooks_with_kwargs", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_get_backward_hooks", "_get_backward_pre_hooks", "_get_item_by_idx",
    "_get_name", "_holder", "_is_full_backward_hook", "_load_from_state_dict", "_load_state_dict_post_hooks",
    "_load_state_dict_pre_hooks", "_maybe_warn_non_full_backward_hook", "_modules", "_named_members",
    "_kept", "_non_persistent_buffers_set", "_ops", "_parameters", "_program", "_register_load_state_dict_pre_hook",
    "_register_state_dict_hook", "_replicate_for_data_parallel", "_run", "_save_to_state_dict", "_slow_forward",
    "_state_dict_hooks", "_state_dict_pre_hooks", "_version", "_wrapped_call_impl", "add_module", "append",
    "apply", "bfloat16", "buffers", "call_super_init", "children", "clear", "compile", "cpu", "cuda", "double",
    "dump_patches", "eval", "extend", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "insert", "ipu", "items", "keys", "load_state_dict", "modules",
    "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "parameters", "pop",
    "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
    "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "update",
    "values", "with_program", "xpu", "zero_grad", "kept",
})


class Namer:
    """Hands out unique safe identifiers; ``reserved`` are names the emitter uses itself."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()):
        self.reserved = _RESERVED | frozenset(reserved)
        self.used: set[str] = set()

    def name(self, raw: str, fallback: str = "layer") -> str:
        text = unicodedata.normalize("NFKC", str(raw))
        text = _BAD.sub("_", text).strip("_") or fallback
        if text[0].isdigit():
            text = f"{fallback}_{text}"
        text = text[:MAX_LENGTH]
        if text in self.reserved or text.startswith("__"):
            text = f"{text}_"
        candidate, n = text, 2
        while candidate in self.used or candidate in self.reserved:
            candidate = f"{text}_{n}"
            n += 1
        assert candidate.isidentifier() and not keyword.iskeyword(candidate)
        self.used.add(candidate)
        return candidate
