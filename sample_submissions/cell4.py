"""Cell 4 mistakes: every training-loop error the theory text names, each caught by a named visible test.

Each sample is a small edit of the reference `train_epoch`/`evaluate`, as a
student would make it. `fails` names exactly the test cells that must fail;
every other test cell must pass. Later parts that call the student's
functions (Exercise 2's visible test, the notebook's demo cells) only care
that they run (Cell 5's tests train with loops of their own), so a mistake that still runs costs
points in Cell 4 alone; the one that crashes says so in its `about`.
"""

from .harness import Sample

_EVAL_BLOCK = (
    "    with torch.no_grad():\n"
    "        for batch_x, batch_y in loader:\n"
    "            outputs = model(batch_x)\n"
    "            total_loss += criterion(outputs, batch_y).item()\n"
    "            correct += (outputs.argmax(dim=1) == batch_y).sum().item()\n"
    "            seen += batch_y.size(0)\n"
)
_EVAL_WITHOUT_NO_GRAD = (
    "    for batch_x, batch_y in loader:\n"
    "        outputs = model(batch_x)\n"
    "        total_loss += criterion(outputs, batch_y).item()\n"
    "        correct += (outputs.argmax(dim=1) == batch_y).sum().item()\n"
    "        seen += batch_y.size(0)\n"
)
_EVAL_WITH_BACKWARD = (
    "    for batch_x, batch_y in loader:\n"
    "        outputs = model(batch_x)\n"
    "        loss = criterion(outputs, batch_y)\n"
    "        loss.backward()\n"
    "        total_loss += loss.item()\n"
    "        correct += (outputs.argmax(dim=1) == batch_y).sum().item()\n"
    "        seen += batch_y.size(0)\n"
)
_TRAIN = ("cell4_tests_train_epoch",)
_EVAL = ("cell4_tests_evaluate",)

MISTAKES = [
    Sample("cell4_no_zero_grad", "Cell 4: train_epoch never calls optimizer.zero_grad() (gradients accumulate)",
           {"cell4_solution": [("        optimizer.zero_grad()\n", "")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_zero_grad_after_backward", "Cell 4: zero_grad() between backward() and step() wipes the gradients",
           {"cell4_solution": [("        optimizer.zero_grad()\n        loss.backward()\n",
                                "        loss.backward()\n        optimizer.zero_grad()\n")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_step_before_backward", "Cell 4: optimizer.step() before loss.backward() (steps with the previous batch's gradients)",
           {"cell4_solution": [("        loss.backward()\n        optimizer.step()\n",
                                "        optimizer.step()\n        loss.backward()\n")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_softmax_before_loss", "Cell 4: softmax applied to the logits before CrossEntropyLoss",
           {"cell4_solution": [("        loss = criterion(outputs, batch_y)\n",
                                "        loss = criterion(torch.softmax(outputs, dim=1), batch_y)\n")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_one_hot_targets", "Cell 4: one-hot float targets instead of int64 class indices",
           {"cell4_solution": [("        loss = criterion(outputs, batch_y)\n",
                                "        loss = criterion(outputs, nn.functional.one_hot(batch_y, outputs.shape[1]).float())\n")]},
           loses=("cell4",), fails=_TRAIN),
    Sample("cell4_float_targets", "Cell 4: float targets (batch_y.float()); CrossEntropyLoss raises. Exercise 2's "
           "visible cell, run by the student, fails too, but its twin (and every hidden Exercise 2 check) runs "
           "compare_schedulers with the reference train_epoch: the mistake costs Cell 4 only",
           {"cell4_solution": [("        loss = criterion(outputs, batch_y)\n",
                                "        loss = criterion(outputs, batch_y.float())\n")]},
           loses=("cell4",), fails=("cell4_tests_train_epoch",)),
    Sample("cell4_no_train_mode", "Cell 4: train_epoch never calls model.train()",
           {"cell4_solution": [("    model.train()\n", "")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_batch_mean_accuracy", "Cell 4: accuracy averaged over batches instead of counted over samples",
           {"cell4_solution": [("\n        correct += (outputs.argmax(dim=1) == batch_y).sum().item()",
                                "\n        correct += (outputs.argmax(dim=1) == batch_y).float().mean().item()"),
                               ("\n        seen += batch_y.size(0)", "\n        seen += 1")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_loss_tensor", "Cell 4: loss accumulated as a tensor (no loss.item()): returns a tensor and keeps every graph alive",
           {"cell4_solution": [("        total_loss += loss.item()\n", "        total_loss += loss\n")]}, loses=("cell4",), fails=_TRAIN),
    Sample("cell4_eval_without_no_grad", "Cell 4: evaluate without torch.no_grad()",
           {"cell4_solution": [(_EVAL_BLOCK, _EVAL_WITHOUT_NO_GRAD)]}, loses=("cell4",), fails=_EVAL),
    Sample("cell4_eval_without_eval_mode", "Cell 4: evaluate without model.eval()",
           {"cell4_solution": [("    model.eval()\n", "")]}, loses=("cell4",), fails=_EVAL),
    Sample("cell4_eval_calls_backward", "Cell 4: evaluate copied from the training loop: no torch.no_grad(), calls loss.backward()",
           {"cell4_solution": [(_EVAL_BLOCK, _EVAL_WITH_BACKWARD)]}, loses=("cell4",), fails=_EVAL),
]
