"""Benchmark of ``archcalc import`` (run by hand; numbers go in bench/README.md).

1. ``archcalc import torchvision:resnet50`` against torchinfo's ``summary`` of the same model, both
   whole processes in the torchvision environment, paired: target ≤ 1× (issue 13).
2. ``archcalc import config.json`` (Llama 3 8B's config, read as data) against ``archcalc params`` of the
   shipped llama-3-8b spec: "in the time of archcalc params".
3. With ``--sweep``: every classification model of ``torchvision.models`` imported in one process,
   each one either written (and checked against the model) or refused with a located error; prints
   the count that round-trips and each refusal's first line.

    python bench/importing.py --tv-python ../tv/bin/python [--runs 5] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import paired

ROOT = Path(__file__).resolve().parent.parent
LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128256, "hidden_size": 4096,
         "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
         "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False}

SWEEP = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import torchvision
from archcalc.errors import SpecError
from archcalc.importers.torch_module import import_model
ok = 0
#: the models whose auxiliary heads are unused in eval mode, built without them (docs/import.md)
ARGS = {"googlenet": {"aux_logits": False}, "inception_v3": {"aux_logits": False}}
names = torchvision.models.list_models(module=torchvision.models)
for name in names:
    start = time.perf_counter()
    try:
        import_model(f"torchvision:{name}", ARGS.get(name, {}), (3, 299, 299) if name == "inception_v3" else None)
        ok += 1
        print(f"ok      {name} ({time.perf_counter() - start:.1f} s)", flush=True)
    except SpecError as e:
        print(f"refused {name}: {e.render().splitlines()[0]}", flush=True)
print(f"{ok} of {len(names)} round-trip")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tv-python", required=True, help="a python with torch, torchvision and torchinfo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="import every torchvision classification model")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH"))
                                                       if p)}  # and where the peer's torchinfo may be
    with tempfile.TemporaryDirectory() as folder:
        archcalc = [args.tv_python, "-m", "archcalc"]
        ours = [*archcalc, "import", "torchvision:resnet50", "-o", f"{folder}/r.yaml", "--force"]
        peer = [args.tv_python, "-c", "import torchvision, torchinfo; "
                "torchinfo.summary(torchvision.models.resnet50(), (1, 3, 224, 224), verbose=0)"]
        r = paired(ours, peer, args.runs, env=env)
        print(f"import torchvision:resnet50 {r['a']:.2f} s; torchinfo summary {r['b']:.2f} s; "
              f"ratio {r['ratio']:.2f} (target ≤ 1)")
        config = Path(folder, "config.json")
        config.write_text(json.dumps(LLAMA), encoding="utf-8")
        ours = [sys.executable, "-m", "archcalc", "import", str(config), "-o", f"{folder}/l.yaml", "--force"]
        peer = [sys.executable, "-m", "archcalc", "params", str(ROOT / "specs" / "llama-3-8b.yaml")]
        r = paired(ours, peer, args.runs, env=env)
        print(f"import config.json (Llama 3 8B) {r['a']:.3f} s; params llama-3-8b {r['b']:.3f} s; "
              f"ratio {r['ratio']:.2f}")
    if args.sweep:
        os.execve(args.tv_python, [args.tv_python, "-c", SWEEP], env)


if __name__ == "__main__":
    main()
