"""`StderrIsNotFailure` (the autograde step): output on stderr (a warning) in a test cell is kept
but shown as stdout, so correct code that warns keeps its points; errors still fail."""

from nbgrader.preprocessors import NbGraderPreprocessor


class StderrIsNotFailure(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources
