"""`NotRunIsFailure` (the autograde step): a graded test cell without an execution count did not
run, and gets an error output, so it never earns points."""

from nbgrader.preprocessors import NbGraderPreprocessor

from ._common import error_output, is_test_cell


class NotRunIsFailure(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell) and not cell.get("execution_count"):
            if not any(o.output_type == "error" for o in cell.outputs):
                cell.outputs.append(error_output("NotRun", "this test cell did not run, so it earns no points"))
        return cell, resources
