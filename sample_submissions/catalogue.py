"""The catalogue of crafted submissions: correct variants and typical mistakes."""

from coursetools.grading import Sample

REFERENCE = Sample("reference", "the reference solution from source/")
UNTOUCHED = Sample("untouched_release", "the release notebook exactly as students get it", answered=False)

FLAWED_DEMO = [
    Sample("ex1_sample_std", "Exercise 1: std with ddof=1 instead of the population std",
           {"ex1_solution": [("features.std(axis=0)", "features.std(axis=0, ddof=1)")]}, loses=("ex1",)),
    Sample("ex2_lr_after_step", "Exercise 2: learning rate recorded after stepping the scheduler",
           {"ex2_solution": [
               ('            h["lr"].append(float(optimizer.param_groups[0]["lr"]))\n', ""),
               ("                scheduler.step()\n",
                "                scheduler.step()\n            h[\"lr\"].append(float(optimizer.param_groups[0][\"lr\"]))\n"),
           ]}, loses=("ex2",)),
    Sample("ex4_no_eval_mode", "Exercise 4: evaluation without model.eval()",
           {"ex4_solution": [("        model.eval()\n", "")]}, loses=("ex4",)),
]

DEMO = [REFERENCE, UNTOUCHED, *FLAWED_DEMO]
ALL = list(DEMO)
