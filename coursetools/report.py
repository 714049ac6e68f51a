"""The class report: what the class got wrong, for the next lecture (`week13 class-report`, and
after `week13 grade-class`).

From the gradebook and the graded notebooks (`grading.read_results`, what the summary and the CSV
read), for the students graded: per part, the distribution of autograded points (a histogram each,
matplotlib, and a table: students, mean, median, full marks, zero), and the checks that failed
most often, each with how many students it cost and its messages grouped (numbers aside, so "got
0.31" and "got 0.29" count as one message), so that the concept most of the class missed is the
first line. Written as `build/class-report/index.html` (the histograms beside it) and printed as
plain tables.
"""

import html
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import ASSIGNMENT, tables
from .grading import PARTS, Result


@dataclass
class ClassReport:
    students: int
    scores: dict[str, list[float]]  # part -> every graded student's autograded points
    maxima: dict[str, float]
    failed: dict[str, Counter] = field(default_factory=dict)  # grade id -> Counter of messages (numbers blanked)
    example: dict[tuple[str, str], str] = field(default_factory=dict)  # (grade id, blanked) -> one real message


def _blanked(message: str) -> str:
    return re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", message)


def build(results: dict[str, Result]) -> ClassReport:
    report = ClassReport(len(results), {p: [] for p in PARTS}, {p: 0.0 for p in PARTS})
    for r in results.values():
        for part in PARTS:
            got, most = r.parts.get(part, (0.0, 0.0))
            report.scores[part].append(float(got))
            report.maxima[part] = max(report.maxima[part], float(most))
        for gid, message in r.failures.items():
            key = _blanked(message)
            report.failed.setdefault(gid, Counter())[key] += 1
            report.example.setdefault((gid, key), message)
    return report


def part_rows(report: ClassReport) -> list[tuple]:
    rows = [("part", "points", "students", "mean", "median", "full marks", "zero")]
    for part in PARTS:
        s, most = report.scores[part], report.maxima[part]
        if not s or not most:
            continue
        rows.append((part, f"{most:g}", len(s), f"{statistics.fmean(s):.1f}", f"{statistics.median(s):g}",
                     sum(v >= most for v in s), sum(v == 0 for v in s)))
    return rows


def check_rows(report: ClassReport, top: int = 15) -> list[tuple]:
    """The failed checks, the most students first: (grade id, students, the most frequent message)."""
    rows = [("check", "students", "most frequent message (how many)")]
    ranked = sorted(report.failed.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    for gid, messages in ranked[:top]:
        key, n = messages.most_common(1)[0]
        more = f"; {len(messages) - 1} other message(s)" if len(messages) > 1 else ""
        message = report.example[gid, key]
        message = message if len(message) <= 200 else message[:199].rsplit(" ", 1)[0] + " …"
        rows.append((gid, sum(messages.values()), f"{message} ({n}){more}"))
    return rows


def text(report: ClassReport) -> str:
    return "\n\n".join([f"class report: {report.students} graded",
                        tables.render(part_rows(report), right=range(1, 7)),
                        tables.render(check_rows(report), right=(1,))])


def _histograms(report: ClassReport, out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = {}
    for part in PARTS:
        s, most = report.scores[part], report.maxima[part]
        if not s or not most:
            continue
        fig, ax = plt.subplots(figsize=(3.2, 2.2), dpi=100)
        ax.hist(s, bins=[x - 0.5 for x in range(int(most) + 2)], color="#4c72b0", edgecolor="white")
        ax.set_xlim(-0.5, most + 0.5)
        ax.set_title(f"{part} ({most:g} points)", fontsize=9)
        ax.set_xlabel("autograded points", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        names[part] = f"{part}.png"
        fig.savefig(out / names[part], metadata={"Software": None})
        plt.close(fig)
    return names


def _html_table(rows: list[tuple]) -> str:
    head, *body = rows
    cells = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>"


def write(report: ClassReport, out: Path | str) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = _histograms(report, out)
    import base64

    # the page holds its images (one file to keep, mail or upload); the PNGs stay beside it too
    figures = "".join(f'<figure><img src="data:image/png;base64,{base64.b64encode((out / name).read_bytes()).decode()}" '
                      f'alt="histogram of {part}" title="{name}"></figure>' for part, name in images.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{ASSIGNMENT}: class report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }}
th {{ background: #f3f3f3; }}
.figures {{ display: flex; flex-wrap: wrap; gap: 0.5rem; }}
figure {{ margin: 0; }}
</style></head><body>
<h1>{ASSIGNMENT}: class report</h1>
<p>{report.students} students graded. Autograded points per part; the written answer is graded by hand.</p>
<h2>What the class missed most</h2>
{_html_table(check_rows(report))}
<h2>Points per part</h2>
{_html_table(part_rows(report))}
<div class="figures">{figures}</div>
</body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")
    return out / "index.html"


def class_report(root: Path | str, db_url: str | None = None, out: Path | str | None = None) -> tuple[Path, str]:
    """Read the course's gradebook (every student with an autograded notebook), write the report;
    (its index.html, the same as text)."""
    from .gradebook import gradebook_url, submitted_students
    from .grading import read_results

    root = Path(root)
    url = gradebook_url(root, db_url)
    graded = sorted(s for s in submitted_students(url, ASSIGNMENT)
                    if (root / "autograded" / s / ASSIGNMENT).is_dir())
    report = build(read_results(root, graded, db_url=url))
    return write(report, Path(out) if out else root / "build" / "class-report"), text(report)
