"""Reports: deterministic HTML, XLSX, CSV and JSON; the HTML opened in a real headless browser; the guide runs."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import fineco_rules
import fineco_rules.analysis
import fineco_rules.io
import fineco_rules.report
from fineco_rules import load_policy, read_records
from fineco_rules.cli import main
from fineco_rules.report import make_report

from .conftest import ROOT

JIANGSU = ROOT / "policies" / "jiangsu"
EXAMPLES = ROOT / "examples"
GUIDE = ROOT / "docs" / "reports.md"
BLOCKS = [m.group(1) for m in re.finditer(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(scope="module")
def report() -> fineco_rules.report.Report:
    """The 2008 report with 2007's results as last year, as the shipped example runs it."""
    records, _ = fineco_rules.io.attach_table(
        read_records(EXAMPLES / "jiangsu-2008.csv").records,
        "credit_units",
        read_records(EXAMPLES / "jiangsu-2008-units.csv").records,
    )
    pilots = fineco_rules.evaluate(
        load_policy(JIANGSU / "jiangsu-2007.yaml"), read_records(EXAMPLES / "jiangsu-2007.csv").records
    )
    return make_report(load_policy(JIANGSU / "jiangsu-2008.yaml"), records, last_year=pilots)


class TestDeterministic:
    @pytest.mark.parametrize("kind", ["html", "csv", "json"])
    def test_text_outputs(self, report: fineco_rules.report.Report, kind: str):
        """Rendering twice gives the same text."""
        render = {"html": lambda: report.html(), "csv": lambda: report.csv(), "json": report.json}[kind]
        assert render() == render()

    def test_workbook_bytes(self, report: fineco_rules.report.Report):
        """The workbook is the same bytes every time: fixed dates in the archive and the properties."""
        first = report.xlsx()
        assert report.xlsx() == first
        with zipfile.ZipFile(io.BytesIO(first)) as archive:
            assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert (
                '<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z'
                in archive.read("docProps/core.xml").decode()
            )

    def test_cli_writes_identical_files(self, tmp_path: Path):
        """Two `fineco report` runs write byte-identical files of every format."""
        for run in ("a", "b"):
            outputs = [str(tmp_path / f"{run}.{suffix}") for suffix in ("html", "xlsx", "csv", "json")]
            args = [
                "report",
                "--policy",
                str(JIANGSU),
                "--as-of",
                "2010-12-31",
                str(EXAMPLES / "jiangsu-2010.csv"),
                "-q",
            ]
            assert main([*args, *(x for o in outputs for x in ("-o", o))]) == 0
        for suffix in ("html", "xlsx", "csv", "json"):
            assert (tmp_path / f"a.{suffix}").read_bytes() == (tmp_path / f"b.{suffix}").read_bytes()

    def test_unknown_suffix_is_a_usage_error(self, capsys: pytest.CaptureFixture[str], tmp_path: Path):
        """An output whose suffix names no format is refused before any work."""
        code = main(
            [
                "report",
                "--policy",
                str(JIANGSU / "jiangsu-2008.yaml"),
                str(EXAMPLES / "jiangsu-2008.csv"),
                "-o",
                str(tmp_path / "r.pdf"),
            ]
        )
        assert code == 2
        assert "cannot tell the format of" in capsys.readouterr().err


class TestContent:
    def test_html_is_offline(self, report: fineco_rules.report.Report):
        """The HTML has no script, no external link or source, and inline SVG charts."""
        page = report.html()
        assert "<script" not in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert "<link" not in page
        assert page.count("<svg") == 2 + 13 + 1  # grades per city, scores, a radar per city, score changes

    def test_html_sections(self, report: fineco_rules.report.Report):
        """The Chinese page has the summary table, each city, the movement and the gap list; English on request."""
        page = report.html()
        assert '<html lang="zh-CN">' in page
        for text in ('id="summary-table"', "全省目标", "苏州市（320500）", "年度变动", "差距清单", "有目标未达到"):
            assert text in page
        assert "3 个升级，1 个降级，14 个持平，34 个无上年数据，0 个本年未参评" in page
        english = report.html("en")
        assert "Province-wide targets" in english and "Gap list" in english and "some targets are not met" in english

    def test_csv(self, report: fineco_rules.report.Report):
        """One row per county with last year's grade and the gap in words."""
        rows = list(csv.DictReader(io.StringIO(report.csv("en"))))
        assert len(rows) == 52
        row = next(r for r in rows if r["county"] == "320125")
        assert (row["grade"], row["movement"], row["gap_target"], row["gap_points"]) == ("pass", "new", "good", "1.59")
        assert row["gap"].startswith("or: financial product innovation from 76.8 to at least 91.1")
        changshu = next(r for r in rows if r["county"] == "320581")
        assert (changshu["last_grade"], changshu["movement"], changshu["gap"]) == ("good", "same", "")

    def test_json(self, report: fineco_rules.report.Report):
        """The JSON holds the summary and one entry per county with its gap."""
        data = json.loads(report.json())
        assert list(data) == ["summary", "counties", "gone"]
        assert data["summary"]["province"]["targets"][1]["numerator"] == 4
        county = next(c for c in data["counties"] if c["county"] == "321281")
        # 兴化市 (NPL exactly 6.00 %, 在6%以下) passes; its gap is to good, through the credit township gate.
        assert (county["grade"], county["gap"]["target"]) == ("pass", "good")
        assert county["gap"]["required"][0]["target"] == 0.85
        assert county["last_year"] is None and county["movement"] == "new"

    def test_workbook_cells(self, report: fineco_rules.report.Report):
        """The workbook has the four sheets, with the targets and one row per county."""
        from openpyxl import load_workbook  # type: ignore[import-untyped]

        book = load_workbook(io.BytesIO(report.xlsx()))
        assert book.sheetnames == ["全省目标", "各市", "各县", "差距"]
        targets = [list(r) for r in book["全省目标"].iter_rows(min_row=2, max_row=3, values_only=True)]
        assert targets == [
            ["全省", "达标面", 0.576923, "≥ 70%", "未达到", "30/52"],
            ["全省", "上年度达标单位达到良好的比例", 0.4, "≥ 60%", "未达到", "4/10"],
        ]
        counties = list(book["各县"].iter_rows(values_only=True))
        assert len(counties) == 53
        assert counties[1][:8] == ("320124", "溧水县", "南京市", "达标", 68.66, "达标", 64.24, "持平")
        assert load_workbook(io.BytesIO(report.xlsx("en"))).sheetnames == ["Targets", "Cities", "Counties", "Gaps"]


_PROBE = """<script>
const svgs = [...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect());
const table = document.getElementById('summary-table');
const probe = document.createElement('pre');
probe.id = 'probe';
probe.textContent = JSON.stringify({
  rows: table ? table.querySelectorAll('tbody tr').length : 0,
  tableWidth: table ? table.getBoundingClientRect().width : 0,
  charts: svgs.length,
  drawn: svgs.filter(r => r.width > 100 && r.height > 100).length,
  bars: document.querySelectorAll('svg rect.rect').length,
});
document.body.appendChild(probe);
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package `chromium`)")
class TestInBrowser:
    def test_summary_and_charts_render(self, report: fineco_rules.report.Report, tmp_path: Path):
        """Headless Chromium lays out the summary table and every chart; a screenshot is kept as an artifact."""
        assert CHROMIUM is not None
        page = tmp_path / "report.html"
        page.write_text(report.html(), encoding="utf-8")
        probed = tmp_path / "probed.html"
        probed.write_text(report.html().replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2400"]
        dom = subprocess.run(
            [CHROMIUM, *flags, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120, check=True
        ).stdout
        found = json.loads(re.search(r'<pre id="probe">(\{.*?\})</pre>', dom, re.S).group(1))  # type: ignore[union-attr]
        assert found["rows"] == 2
        assert found["tableWidth"] > 600
        assert found["charts"] == found["drawn"] == 16
        assert found["bars"] > 52
        artifacts = Path(os.environ.get("FINECO_ARTIFACTS", tmp_path))
        artifacts.mkdir(parents=True, exist_ok=True)
        shot = artifacts / "report-2008.png"
        subprocess.run(
            [CHROMIUM, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True
        )
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 50_000  # a blank page is a few kilobytes


class TestReportsGuide:
    def test_the_guide_has_examples(self):
        """docs/reports.md holds a Python example for each part."""
        assert len(BLOCKS) == 6

    @pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(1, len(BLOCKS) + 1)])
    def test_example_runs(self, block: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        """Each Python block runs as written from the repository root."""
        monkeypatch.chdir(ROOT)
        exec(compile(block, str(GUIDE), "exec"), {"__name__": "__docs__"})

    def test_summary_shape_is_the_documented_one(self):
        """The JSON example in the guide has exactly the keys summarize() writes."""
        documented = json.loads(re.search(r"```json\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S).group(1))  # type: ignore[union-attr]
        policy = load_policy(JIANGSU / "jiangsu-2008.yaml")
        actual = fineco_rules.analysis.summarize(
            fineco_rules.evaluate(policy, read_records(EXAMPLES / "jiangsu-2008.csv").records)
        ).to_dict()
        assert list(documented) == list(actual)
        assert list(documented["province"]) == list(actual["province"])
        assert list(documented["province"]["targets"][0]) == list(actual["province"]["targets"][0])

    def test_every_command_is_in_the_guide(self):
        """Each new command is shown in the guide."""
        text = GUIDE.read_text(encoding="utf-8")
        for command in ("fineco summary", "fineco diff", "fineco sensitivity", "fineco report", "fineco explain"):
            assert command in text


#: Measures what a reader sees: whether the page scrolls sideways, and the smallest text on screen (SVG text scaled
#: by how much its chart is shrunk or stretched), with a few of the smallest as examples.
_MEASURE = """<script>
const small = [];
function note(size, el, text) { small.push([Math.round(size * 100) / 100, el.tagName, text.trim().slice(0, 30)]); }
function shown(el) { const r = el.getClientRects(); return r.length > 0 && r[0].width > 0 && r[0].height > 0; }
for (const el of document.body.querySelectorAll('*')) {
  if (el.closest('svg') || el.tagName === 'SCRIPT' || el.tagName === 'STYLE' || el.id === 'measured') continue;
  const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
  if (text.trim() && shown(el)) note(parseFloat(getComputedStyle(el).fontSize), el, text);
}
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.viewBox.baseVal;
  const scale = box && box.width ? svg.getBoundingClientRect().width / box.width : 1;
  for (const t of svg.querySelectorAll('text')) {
    if (t.textContent.trim() && shown(t)) note(parseFloat(getComputedStyle(t).fontSize) * scale, t, t.textContent);
  }
}
small.sort((a, b) => a[0] - b[0]);
const out = parent.document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify({
  viewport: window.innerWidth,
  pageWidth: document.documentElement.scrollWidth,
  smallest: small.slice(0, 5),
  texts: small.length,
});
parent.document.body.appendChild(out);
</script>"""


def _measure(page: str, tmp_path: Path, width: int) -> dict[str, object]:
    assert CHROMIUM is not None
    # Headless Chromium's window is at least 500 px wide, so the page is measured in a frame of the width asked for.
    inner = html.escape(page.replace("</body>", _MEASURE + "</body>"), quote=True)
    probed = tmp_path / f"measured-{width}.html"
    probed.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe width="{width}" height="1200" style="border:0" '
        f'srcdoc="{inner}"></iframe></body></html>',
        encoding="utf-8",
    )
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1600,1300"]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=180, check=True
    ).stdout
    found = re.search(r'<pre id="measured">(\{.*?\})</pre>', dom, re.S)
    assert found is not None, "the measuring script did not run"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def _require_chromium() -> None:
    """Skip without Chromium, unless CI installed it (FINECO_REQUIRE_CHROMIUM=1): then its absence fails."""
    if CHROMIUM is None:
        if os.environ.get("FINECO_REQUIRE_CHROMIUM") == "1":
            pytest.fail("FINECO_REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("needs Chromium and a CJK font (Debian packages `chromium fonts-noto-cjk`)")


class TestReadableOnEveryScreen:
    """At 1400 and 400 px wide the page never scrolls sideways and no text on screen is under 11 px."""

    @pytest.mark.parametrize("width", [1400, 400])
    @pytest.mark.parametrize("kind", ["province", "city"])
    def test_no_overflow_no_tiny_text(self, report: fineco_rules.report.Report, tmp_path: Path, width: int, kind: str):
        """The province report and a city report, measured in headless Chromium."""
        _require_chromium()
        page = report.html() if kind == "province" else _city_report().html()
        found = _measure(page, tmp_path, width)
        assert found["viewport"] == width
        assert found["pageWidth"] <= width, found
        smallest = found["smallest"]
        assert isinstance(smallest, list) and smallest, found
        assert smallest[0][0] >= 11, found


def _city_report() -> fineco_rules.report.Report:
    records, _ = fineco_rules.io.attach_table(
        read_records(EXAMPLES / "jiangsu-2008.csv").records,
        "credit_units",
        read_records(EXAMPLES / "jiangsu-2008-units.csv").records,
    )
    return make_report(load_policy(JIANGSU / "jiangsu-2008.yaml"), records, city="320500", year=2008)


class TestFirstScreen:
    """The first screen answers: every city against each target, the grade lines, who is held back and why."""

    def test_city_table_comes_before_the_charts(self, report: fineco_rules.report.Report):
        """A table of every city against each target sits right after the province's targets."""
        page = report.html()
        assert page.index('id="city-table"') < page.index('id="distribution"')
        row = re.search(r'<tr><td><a href="#city-320500">苏州市</a></td>(.*?)</tr>', page).group(1)  # type: ignore[union-attr]
        assert row.startswith('<td class="num">3</td><td class="num">2</td><td class="num">0</td>')
        assert '<td class="num met">100.00 % ✓</td>' in row
        assert "达标面（&gt;= 70 %）" in page

    def test_grade_lines_are_drawn(self, report: fineco_rules.report.Report):
        """The score chart's 60 and 80 guides are major lines, styled as grade lines and named above the chart."""
        page = report.html()
        chart = page[page.index('<div class="chart grade-lines"') :]
        chart = chart[: chart.index("</svg>")]
        assert chart.count('class="major guide line"') == 2
        assert ".grade-lines svg .major.guide.line{stroke:#c62828" in page
        assert '<p class="lines">竖线为等级线：60、80</p>' in page

    def test_own_grade_line_is_named(self):
        """A method whose pass line is not 60 has its own line drawn and named."""
        page = _city_report_under(ROOT / "policies" / "cities" / "suzhou" / "suzhou-2008.yaml").html()
        line = re.search(r'<p class="lines">(.*?)</p>', page).group(1)  # type: ignore[union-attr]
        assert line.startswith("竖线为等级线：60、80、本办法")

    def test_held_back_counties_say_why(self, report: fineco_rules.report.Report):
        """A county above 60 but not passing is marked ⚠ on the chart and listed with the veto or gate."""
        page = report.html()
        assert "扬中市 ⚠" in page
        table = page[page.index('<h3 id="held">') :]
        table = table[: table.index("</table>")]
        assert "扬中市" in table and ("一票否决：" in table or "门槛未达到：" in table)

    def test_count_axis_is_whole_numbers(self, report: fineco_rules.report.Report):
        """The grade-count chart has ticks at whole numbers only."""
        page = report.html()
        chart = page[page.index('id="distribution"') :]
        chart = chart[: chart.index("</svg>")]
        ticks = re.findall(r'<text[^>]*class=""[^>]*>([0-9.]+)</text>', chart) or re.findall(
            r">([0-9]+(?:\.[0-9]+)?)</text>", chart
        )
        assert ticks and all("." not in t for t in ticks)

    def test_scores_keep_their_zeros(self, report: fineco_rules.report.Report):
        """A score of 82.80 is printed 82.80 on the chart, and empty bars print nothing."""
        page = report.html()
        assert ">82.80</text>" in page
        assert ">0.00</text>" not in page

    def test_no_last_year_data(self, report: fineco_rules.report.Report):
        """A county absent from last year's results says 无上年数据 in its row, not 新参评."""
        page = report.html()
        assert "<td>无上年数据</td>" in page and "<td>新参评</td>" not in page

    def test_gap_sheet_in_chinese(self, report: fineco_rules.report.Report):
        """The workbook's gap sheet names the kind and the method in Chinese."""
        from openpyxl import load_workbook  # type: ignore[import-untyped]

        rows = list(load_workbook(io.BytesIO(report.xlsx()))["差距"].iter_rows(min_row=2, values_only=True))
        kinds = {r[5] for r in rows if len(r) > 9 and r[9] is not None}
        methods = {r[9] for r in rows if len(r) > 9 and r[9] is not None}
        assert kinds <= {"必须", "任选其一", "同时做到"} and kinds
        assert methods <= {"精确计算", "试算得出"} and methods
        assert "精确求解" not in report.html() and "搜索所得" not in report.html()


def _city_report_under(policy: Path) -> fineco_rules.report.Report:
    records, _ = fineco_rules.io.attach_table(
        read_records(EXAMPLES / "jiangsu-2008.csv").records,
        "credit_units",
        read_records(EXAMPLES / "jiangsu-2008-units.csv").records,
    )
    return make_report(load_policy(policy), records, city="320500", year=2008)
