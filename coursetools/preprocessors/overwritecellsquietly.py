"""`OverwriteCellsQuietly` (the sanitize step, in place of nbgrader's OverwriteCells): the locked
cells overwritten from the gradebook's source cells, without nbgrader #1961's checksum warning for
every hidden test cell."""

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


class OverwriteCellsQuietly(OverwriteCells):
    """nbgrader's OverwriteCells without the false alarm of nbgrader #1961. A released test cell
    lacks its hidden tests by design, so its checksum never matches the source cell's, and every
    student's grading log carried one "Attribute 'checksum' ... has changed!" warning per hidden
    cell (15 here), which hid the warnings that matter. A locked cell that is exactly the release's
    version of its source cell (the source with the hidden region removed, as generate_assignment
    made it) gets the source's text first, as OverwriteCells would give it; a cell that differs in
    any other way is still reported and overwritten."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source_cell = None
            if source_cell is not None and source_cell.locked and cell.source != source_cell.source:
                released = NotebookNode(source=source_cell.source)
                ClearHiddenTests(config=self.config)._remove_hidden_test_region(released)
                if cell.source == released.source:
                    cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)
