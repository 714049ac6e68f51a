"""Exercise 4 on a real CUDA GPU: the reference `fit` and its hidden checks, and one mistake.

Run where a GPU is, from the repository root: `python3 benchmarks/gpu_check.py` in the course's
environment (`make env` installs the hidden checks), or on a bare machine with only torch, numpy,
scikit-learn and matplotlib, `PYTHONPATH=autograder python3 benchmarks/gpu_check.py` (no Jupyter
or nbgrader needed). It reads the source notebook
as JSON, runs the setup and solution cells the exercise builds on, then

1. the hidden checks of Exercise 4 (with CUDA available, ex4_hidden_moves_to_device also runs a
   real CUDA fit and compares it with the CPU reference),
2. the visible test cell ex4_tests_basic,
3. the lesson's 50-epoch run on the GPU and on the CPU, compared,
4. a mistake (the model never moved) that must fail on the GPU.

Prints one line per result; exits 1 if anything is not as expected.
"""

import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

NEEDED = ("setup", "cell2_solution", "cell3_solution", "cell4_solution", "ex4_solution")
CHECKS = ("ex4_hidden_get_device", "ex4_hidden_moves_to_device", "ex4_hidden_eval_mode", "ex4_hidden_metrics")


def cells():
    nb = json.loads((ROOT / "source" / "week13" / "pytorch_fundamentals.ipynb").read_text())
    out = {}
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id") or cell.get("id")
        source = "".join(cell["source"])
        out[gid] = "\n".join(line for line in source.splitlines()
                             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return out


def namespace(code, edit=None):
    ns = {}
    for gid in NEEDED:
        source = code[gid]
        if edit and gid == edit[0]:
            assert source.count(edit[1]) == 1, edit
            source = source.replace(edit[1], edit[2])
        exec(compile(source, gid, "exec"), ns)
    return ns


def run_checks(ns):
    import week13_checks

    out = {}
    for gid in CHECKS:  # the grader's verdicts, the probe run in this process (week13_checks.run's path)
        message = week13_checks.decide(gid, week13_checks._client.LocalKernel(ns))
        out[gid] = "pass" if message is None else f"FAIL {message[:160]}"
    return out


def main():
    ok = True
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}"
          + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
    code = cells()
    ns = namespace(code)
    print("get_device() ->", ns["get_device"]())
    for gid, verdict in run_checks(ns).items():
        print(f"reference  {gid:<28} {verdict}")
        ok &= verdict == "pass"
    try:
        exec(compile(code["ex4_tests_basic"], "ex4_tests_basic", "exec"), dict(ns))
        print("reference  ex4_tests_basic (visible)    pass")
    except Exception as e:
        ok = False
        print(f"reference  ex4_tests_basic (visible)    FAIL {type(e).__name__}: {e}")

    runs = {}
    for device in ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",):
        torch.manual_seed(0)
        model = ns["SimpleMLP"](10, 50, 2)
        start = time.perf_counter()
        history = ns["fit"](model, ns["train_loader"], ns["test_loader"], torch.nn.CrossEntropyLoss(),
                            torch.optim.Adam(model.parameters(), lr=1e-3), 50, torch.device(device))
        runs[device] = (time.perf_counter() - start, history)
        print(f"50 epochs on {device}: {runs[device][0]:.2f} s, final test loss {history['test_loss'][-1]:.8f}, "
              f"accuracy {history['test_acc'][-1]:.4f}")
    if "cuda" in runs:
        (_, cpu), (_, gpu) = runs["cpu"], runs["cuda"]
        diff = max(abs(a - b) for key in cpu for a, b in zip(cpu[key], gpu[key]))
        print(f"largest per-epoch difference CPU vs GPU over 50 epochs: {diff:.2e}")

        mistake = namespace(code, ("ex4_solution", "    model.to(device)\n", ""))
        verdicts = run_checks(mistake)
        caught = verdicts["ex4_hidden_moves_to_device"] != "pass"
        print("mistake (model never moved): ex4_hidden_moves_to_device",
              "FAILS as it must" if caught else "PASSES (wrong)", "|", verdicts["ex4_hidden_moves_to_device"][:120])
        ok &= caught
    print("all as expected" if ok else "NOT as expected")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
