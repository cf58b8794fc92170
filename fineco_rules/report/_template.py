"""The data-collection workbook an office fills in: one row per county, headed by the policy's labels.

Reading it back needs no mapping: a hidden row holds the field names, which the reader takes as the header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from fineco_rules.analysis._targets import city_label
from fineco_rules.engine._records import META_LABELS
from fineco_rules.errors import UsageError, join, tr
from fineco_rules.io._atomic import write_atomic
from fineco_rules.policy._model import InputSpec, Policy

__all__ = ["DATA_SHEET", "FIRST_DATA_ROW", "HELP_SHEET", "RosterEntry", "county_roster", "write_template"]

#: The sheet an office fills in, and the sheet of instructions.
DATA_SHEET: Final = "数据"
HELP_SHEET: Final = "说明"
#: Rows 1 and 2 hold the Chinese and English labels, row 3 (hidden) the field names; counties start below.
FIRST_DATA_ROW: Final = 4
_ROSTER: Final = Path(__file__).with_name("jiangsu-counties.csv")
_META: Final = ("county", "name", "city", "year")


@attrs.frozen
class RosterEntry:
    """One county of a city's roster: its GB/T 2260 code, name and prefecture city."""

    county: str
    name: str
    city: str


def county_roster(year: int, city: str | None = None) -> list[RosterEntry]:
    """The county-level units of Jiangsu in ``year`` (of ``city`` only, when given), in code order.

    The one place the roster comes from: the shipped list of the examples (real codes and names;
    a county that became a district leaves it after its last year).
    """
    with _ROSTER.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = [
        RosterEntry(row["county"], row["name"], row["city"])
        for row in rows
        if (not row["until"] or year <= int(row["until"])) and (city is None or row["city"] == city)
    ]
    if city is not None and not out:
        cities = sorted({row["city"] for row in rows})
        raise UsageError(
            tr("city {city} is not a prefecture city of Jiangsu (known: {cities})", city=city, cities=join(cities))
        )
    return out


def write_template(
    policy: Policy,
    path: str | Path,
    *,
    city: str | None = None,
    year: int | None = None,
    lang: str = "zh",
    roster: Sequence[RosterEntry] | None = None,
) -> Path:
    """Write the XLSX an office fills in for ``policy``: one row per county of ``city`` (default: all).

    Headers are the inputs' labels in ``lang`` on row 1 and in the other language on row 2, the field names on
    a hidden third row; each input column validates its type and range; sheet 说明 explains it in Chinese.
    ``year`` defaults to the year the policy takes effect. Written atomically.
    """
    import openpyxl  # type: ignore[import-untyped]  # late: slow to import, and only templates need it

    year = policy.effective_from.year if year is None else year
    entries = list(roster) if roster is not None else county_roster(year, city)
    inputs = [spec for spec in policy.inputs.values() if spec.type != "table"]  # internal ones are collected too
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = DATA_SHEET
    fields = [*_META, *(spec.name for spec in inputs), "note"]
    zh = [*(META_LABELS[m][0] for m in _META), *(spec.label.zh for spec in inputs), META_LABELS["note"][0]]
    en = [*(META_LABELS[m][1] for m in _META), *(spec.label.en for spec in inputs), META_LABELS["note"][1]]
    for row in [zh, en] if lang == "zh" else [en, zh]:
        sheet.append(row)
    sheet.append(fields)
    sheet.row_dimensions[3].hidden = True
    for entry in entries:
        sheet.append([entry.county, entry.name, entry.city, year])
    _style(sheet, fields, len(entries))
    for column, spec in enumerate(inputs, len(_META) + 1):
        _validate(sheet, column, spec, len(entries))
    _instructions(book.create_sheet(HELP_SHEET), policy, inputs, city, year, len(entries))
    buffer = io.BytesIO()
    book.save(buffer)
    target = Path(path)
    write_atomic(target, buffer.getvalue())  # a WriteError names the file and the fix
    return target


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    return str(get_column_letter(column))


def _style(sheet: Any, fields: Sequence[str], rows: int) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for column in range(1, len(fields) + 1):
        for row in (1, 2):
            cell = sheet.cell(row=row, column=column)
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[_letter(column)].width = 10 if column <= 4 else 16
        for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + rows):
            sheet.cell(row=row, column=column).number_format = "@" if column <= 3 else "General"
    sheet.freeze_panes = f"C{FIRST_DATA_ROW}"


def _range(spec: InputSpec) -> str:
    low = "-∞" if spec.min is None else _plain(spec.min)
    high = "+∞" if spec.max is None else _plain(spec.max)
    return f"[{low}, {high}]"


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral_value() else str(number)


_KIND_ZH: Final = {"ratio": "比率（小数，如 0.85）", "integer": "整数", "number": "数值", "boolean": "是 / 否"}


def _validate(sheet: Any, column: int, spec: InputSpec, rows: int) -> None:
    """Excel data validation for one input column: its type and range, with a prompt naming the unit."""
    from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

    if rows == 0:
        return
    unit = f"，单位：{spec.unit}" if spec.unit and spec.type != "ratio" else ""
    prompt = f"{_KIND_ZH.get(spec.type, spec.type)}{unit}"
    if spec.type == "boolean":
        rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    else:
        kind = "whole" if spec.type == "integer" else "decimal"
        low = spec.min if spec.min is not None else Decimal("-1E+15")
        high = spec.max if spec.max is not None else Decimal("1E+15")
        rule = DataValidation(
            type=kind, operator="between", formula1=_plain(low), formula2=_plain(high), allow_blank=True
        )
        prompt += f"，取值范围 {_range(spec)}"
    rule.promptTitle = spec.label.zh[:32]
    rule.prompt = prompt[:255]
    rule.errorTitle = "取值不合规"
    rule.error = f"{spec.label.zh}：{prompt}"[:255]
    rule.showInputMessage = True
    rule.showErrorMessage = True
    letter = _letter(column)
    rule.add(f"{letter}{FIRST_DATA_ROW}:{letter}{FIRST_DATA_ROW + rows - 1}")
    sheet.add_data_validation(rule)


def _instructions(
    sheet: Any, policy: Policy, inputs: Sequence[InputSpec], city: str | None, year: int, rows: int
) -> None:
    """Sheet 说明: what the workbook is for, how to fill it in, and each input's unit and range."""
    from openpyxl.styles import Font

    place = "江苏省" if city is None else city_label(city).zh
    until = "起" if policy.effective_until is None else f" 至 {policy.effective_until.isoformat()}"
    lines = [
        f"{place}金融生态县考核数据采集表（{year}年）",
        f"考核办法：{policy.label.zh}（{policy.id} {policy.version}）",
        f"施行期：{policy.effective_from.isoformat()}{until}",
        f"共 {rows} 个县（市），每行一个；县（市）代码、名称、所属市与年份已填好，请勿改动。",
        "填写说明：",
        "1. 在“数据”表中逐县填写各项指标；第 1、2 行为中英文表头，第 3 行（已隐藏）为字段名，请勿删改。",
        "2. 比率填小数（如 0.85），也可填百分数（如 85%），读入时按 0.85 计。",
        "3. 是否类指标填“是”或“否”；整数类指标填整数；不要填千位分隔符或全角数字。",
        "4. 单元格设有取值范围校验，超出范围时 Excel 会提示。",
        "5. 表格上方不要插入标题行以外的内容，不要合并单元格。",
        "6. 填好后保存为 Excel 工作簿（.xlsx），用 `fineco evaluate --policy <考核办法> <本文件>` 评定。",
        "",
    ]
    for line in lines:
        sheet.append([line])
    sheet["A1"].font = Font(bold=True, size=14)
    head = ["字段名", "指标名称", "英文名称", "类型", "单位", "取值范围", "是否必填"]
    sheet.append(head)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for spec in inputs:
        sheet.append(
            [
                spec.name,
                spec.label.zh,
                spec.label.en,
                _KIND_ZH.get(spec.type, spec.type),
                "" if spec.type == "ratio" else spec.unit or "",
                "" if spec.type == "boolean" else _range(spec),
                "是" if spec.required else "否",
            ]
        )
    for letter, width in zip("ABCDEFG", (28, 34, 40, 20, 12, 14, 10), strict=True):
        sheet.column_dimensions[letter].width = width
