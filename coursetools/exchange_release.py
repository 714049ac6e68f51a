"""`nbgrader release_feedback` for a class where some students did not come through the exchange.

nbgrader's ReleaseFeedback reads `timestamp.txt` and `submission_secret.txt` in the feedback folder
of every student and stops the whole command with FileNotFoundError at the first one without them:
a student collected from an LMS's download (`nbgrader zip_collect`, coursetools/lms.py) or put in
`submitted/` by hand never got a secret from `nbgrader submit`. Set as
`ExchangeFactory.release_feedback` in nbgrader_config.py, this one releases everyone who has both
(checked as coursetools/exchange.py reads them: regular files nbgrader wrote) and names each
student it leaves out, whose page is returned the way their work came in (the LMS).
"""

import os

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback

from . import exchange


class ReleaseFeedback(ExchangeReleaseFeedback):
    def copy_files(self):
        base = self.coursedir.format_path(self.coursedir.feedback_directory, "*", self.coursedir.assignment_id)
        feedback_root = os.path.dirname(os.path.dirname(base))
        left_out = []
        if os.path.isdir(feedback_root):
            for student in sorted(os.listdir(feedback_root)):
                folder = self.coursedir.format_path(self.coursedir.feedback_directory, student,
                                                    self.coursedir.assignment_id)
                if os.path.isdir(folder) and set(exchange.read(folder)) != set(exchange.NAMES):
                    left_out.append(student)
        for student in left_out:
            self.log.warning("Not releasing feedback for '%s' through the exchange: no %s from nbgrader submit in "
                             "%s (collected another way, e.g. from an LMS: return feedback/%s/%s/*.html there)",
                             student, " and ".join(exchange.NAMES), os.path.join("feedback", student,
                                                                                 self.coursedir.assignment_id),
                             student, self.coursedir.assignment_id)
        excluded = [s for s in (self.coursedir.student_id_exclude or "").split(",") if s]
        saved = self.coursedir.student_id_exclude
        self.coursedir.student_id_exclude = ",".join(sorted({*excluded, *left_out}))
        try:
            super().copy_files()
        finally:
            self.coursedir.student_id_exclude = saved
