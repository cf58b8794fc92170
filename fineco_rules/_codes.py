"""Every problem code, as data: its name, its severity and what it means in Chinese and English.

A :class:`Code` is a ``str`` (``Code.UNKNOWN_KEY == "unknown-key"``), so JSON output and
code that compares with the plain name keep working; a name that is not registered here is
refused when a :class:`~fineco_rules.errors.Problem` is made.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["Code", "Severity", "code_named"]


class Severity(enum.StrEnum):
    """How much a problem weighs: an error stops what it is about, a note is only shown."""

    ERROR = "error"
    NOTE = "note"


_E: Final = Severity.ERROR
_N: Final = Severity.NOTE


class Code(enum.StrEnum):
    """A stable, kebab-case problem code with its severity and a one-line meaning in each language."""

    severity: Severity
    zh: str
    en: str

    def __new__(cls, value: str, severity: Severity, zh: str, en: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.severity = severity
        member.zh = zh
        member.en = en
        return member

    def describe(self, lang: str = "zh") -> str:
        """The code's meaning in ``lang`` (``zh`` or ``en``)."""
        return self.zh if lang == "zh" else self.en

    # -- anything ---------------------------------------------------------------------------
    INVALID = "invalid", _E, "输入不合规", "the input is not valid"
    USAGE = "usage", _E, "命令参数用法有误", "a command was given arguments it cannot use"

    # -- reading files ----------------------------------------------------------------------
    NOT_FOUND = "not-found", _E, "文件或文件夹不存在", "no such file or folder"
    UNREADABLE = "unreadable", _E, "文件无法读取", "the file cannot be read"
    IS_DIRECTORY = "is-directory", _E, "给的是文件夹而不是文件", "a folder was given where a file was expected"
    BINARY = "binary", _E, "文件是二进制数据而非文本", "the file is binary, not text"
    EMPTY = "empty", _E, "文件为空", "the file is empty"
    NOT_UTF8 = "not-utf8", _E, "文件既不是 UTF-8 也不是 GBK 编码", "the file is neither UTF-8 nor GBK text"
    DECODED_AS_GBK = "decoded-as-gbk", _N, "文件按 GBK 编码读取", "the file was read as GBK text"
    MOJIBAKE = "mojibake", _N, "文本疑似乱码", "the text looks garbled (wrongly decoded)"
    UNKNOWN_FORMAT = "unknown-format", _E, "无法识别的文件格式", "a file format that is not supported"
    CSV_SYNTAX = "csv-syntax", _E, "CSV 格式错误", "the CSV text is malformed"
    JSON_SYNTAX = "json-syntax", _E, "JSON 格式错误", "the JSON text is malformed"
    NOT_JSON = "not-json", _E, "文件不是有效的 JSON", "the file is not valid JSON"
    NOT_XLSX = "not-xlsx", _E, "文件不是有效的 XLSX 工作簿", "the file is not a valid XLSX workbook"
    MERGED_CELLS = "merged-cells", _E, "表格含合并单元格", "the sheet has merged cells"
    YAML_SYNTAX = "yaml-syntax", _E, "YAML 格式错误", "the YAML text is malformed"
    BAD_TAG = "bad-tag", _E, "YAML 使用了不允许的标签", "the YAML uses a tag that is not allowed"
    DUPLICATE_KEY = "duplicate-key", _E, "同一个键出现两次", "the same key is given twice"
    TOO_BIG = "too-big", _E, "文件超过大小上限", "the file is over the size limit"
    TOO_LARGE = "too-large", _E, "文档展开后超过上限", "the document is over the limit once expanded"
    TOO_DEEP = "too-deep", _E, "嵌套层数超过上限", "the document nests deeper than allowed"
    NOT_A_MAPPING = "not-a-mapping", _E, "文档顶层不是键值映射", "the document is not a mapping at the top"
    WRITE_FAILED = "write-failed", _E, "文件写入失败", "a file could not be written"

    # -- records ----------------------------------------------------------------------------
    NO_RECORDS = "no-records", _E, "文件中没有记录", "the file holds no records"
    BAD_SHAPE = "bad-shape", _E, "记录文件结构不对", "the record file does not have the expected shape"
    NOT_A_RECORD = "not-a-record", _E, "条目不是一条记录", "an item is not a record"
    BLANK_COLUMN = "blank-column", _E, "表头有空列名", "a column has no name"
    DUPLICATE_COLUMN = "duplicate-column", _E, "列名重复", "two columns have the same name"
    EXTRA_CELLS = "extra-cells", _E, "行的单元格多于表头", "a row has more cells than the header"
    MISSING_COLUMN = "missing-column", _E, "缺少必需的列", "a required column is missing"
    UNKNOWN_COLUMN = "unknown-column", _N, "政策未使用的列", "a column the policy does not read"
    HEADER_ROW = "header-row", _N, "表头不在第一行，其上的标题行已跳过", "title rows above the header were skipped"
    HEADER_LABELS = "header-labels", _N, "按指标名称识别了列", "columns were recognised by their labels"
    PERCENT_READ = "percent-read", _N, "百分数已换算为小数读入", "percentages were read as ratios"
    UNMATCHED_ROWS = "unmatched-rows", _E, "附表的行对不上任何县", "table rows that match no county"
    MISSING_COUNTY = "missing-county", _E, "记录缺少县代码", "a record has no county code"
    BAD_COUNTY = "bad-county", _E, "县代码不合规", "the county code is not valid"
    DUPLICATE_COUNTY = "duplicate-county", _E, "同一个县出现两次", "the same county appears twice"
    MISSING_INPUT = "missing-input", _E, "缺少指标输入值", "an input the policy needs is missing"
    BAD_VALUE = "bad-value", _E, "输入值不合规", "an input value is not valid"

    # -- policies ---------------------------------------------------------------------------
    UNKNOWN_KEY = "unknown-key", _E, "未知的键", "a key the schema does not know"
    MISSING_KEY = "missing-key", _E, "缺少必需的键", "a required key is missing"
    WRONG_TYPE = "wrong-type", _E, "值的类型不对", "a value of the wrong type"
    NOT_ALLOWED = "not-allowed", _E, "不允许的取值", "a value that is not allowed here"
    BAD_NAME = "bad-name", _E, "名称不合规", "a name that is not valid"
    BAD_TEXT = "bad-text", _E, "标识符不合规", "an identifier that is not valid"
    BAD_DATE = "bad-date", _E, "日期格式不对", "a date not written YYYY-MM-DD"
    BAD_MISSING = "bad-missing", _E, "缺失值规则不合规", "a rule for missing values that is not valid"
    ONE_OF = "one-of", _E, "几项中须且只能给一项", "give exactly one of several keys"
    OUT_OF_RANGE = "out-of-range", _E, "数值超出允许范围", "a number outside its allowed range"
    SCHEMA_ONE_OF = "oneOf", _E, "不符合任何一种允许的写法", "matches none of the allowed forms"
    SCHEMA_MIN_LENGTH = "minLength", _E, "文本太短", "a text that is too short"
    SCHEMA_MIN_ITEMS = "minItems", _E, "列表项太少", "a list with too few items"
    SCHEMA_MIN_PROPERTIES = "minProperties", _E, "映射的键太少", "a mapping with too few keys"
    UNKNOWN_NAME = "unknown-name", _E, "引用了不存在的名称", "a reference to a name that does not exist"
    UNKNOWN_INPUT = "unknown-input", _E, "引用了未声明的输入", "a reference to an input that is not declared"
    BAD_UNIT = "bad-unit", _E, "评价单位不合规", "the graded unit is not valid"
    BAD_PERIOD = "bad-period", _E, "有效期不合规", "the period in effect is not valid"
    BAD_RANGE = "bad-range", _E, "取值范围不合规", "a range of values that is not valid"
    BAD_WEIGHTS = "bad-weights", _E, "权重之和不为 1", "the weights do not add up to 1"
    BAD_POINTS = "bad-points", _E, "分值之和与总分不符", "the points do not add up to the total"
    BAD_PARAMS = "bad-params", _E, "评分方法参数有误", "a scorer's parameters are wrong"
    BAD_CONDITION = "bad-condition", _E, "条件不合规", "a condition that is not valid"
    BAD_SCOPE = "bad-scope", _E, "适用范围不合规", "a scope that is not valid"
    BAD_ADJUSTMENT = "bad-adjustment", _E, "加减分项不合规", "a bonus or deduction that is not valid"
    EMPTY_GROUP = "empty-group", _E, "指标组没有指标", "a group with no indicators"
    BAD_GROUPS = "bad-groups", _E, "指标组的层级不合规", "groups whose nesting is not valid"
    UNKNOWN_SCORER = "unknown-scorer", _E, "没有插件提供该评分方法", "no installed plugin provides the scorer"
    SCORER_VERSION = "scorer-version", _E, "评分方法版本不符", "the scorer's version does not match"
    NOT_IN_EFFECT = "not-in-effect", _E, "政策在该日期不生效", "the policy is not in effect on the date"
    NO_VERSION = "no-version", _E, "没有在该日期生效的版本", "no version is in effect on the date"
    AMBIGUOUS_VERSION = "ambiguous-version", _E, "多个版本同时生效", "more than one version is in effect"
    OVERLAPPING_VERSIONS = "overlapping-versions", _E, "版本有效期重叠", "versions whose periods overlap"
    DUPLICATE_VERSION = "duplicate-version", _E, "同一版本出现两次", "the same version is given twice"
    MIXED_FOLDER = "mixed-folder", _E, "文件夹混有不同政策", "a folder that mixes different policies"
    EXTENDS_TOO_DEEP = "extends-too-deep", _E, "继承链过长", "an `extends` chain longer than the limit"
    EXTENDS_CYCLE = "extends-cycle", _E, "extends 形成循环", "policies that extend each other in a circle"
    PARENT_NOT_FOUND = "parent-not-found", _E, "找不到所继承的政策", "the policy extended cannot be found"
    BAD_PARENT = "bad-parent", _E, "所继承的政策不合规", "the policy extended is not valid"
    PATH_OUTSIDE = "path-outside", _E, "路径指向允许范围之外", "a path that points outside where it may"
    CONSTRAINT_CHANGED = "constraint-changed", _E, "下级政策改动了上级约束", "a child policy changes the constraints"
    REQUIRED_INDICATOR = "required-indicator", _E, "删去了上级要求的指标", "a required indicator was removed"
    REQUIRED_VETO = "required-veto", _E, "删去了上级要求的否决项", "a required veto was removed"
    REQUIRED_INPUT = "required-input", _E, "删去了上级要求的输入", "a required input was removed"
    NOT_STRICTER = "not-stricter", _E, "比上级政策宽松", "laxer than the parent policy"
    OUT_OF_BOUNDS = "out-of-bounds", _E, "超出上级允许的范围", "outside the bounds the parent allows"
    UNKNOWN_ASSUMPTION = "unknown-assumption", _E, "引用了未声明的假设", "a basis names an undeclared assumption"
    SCALE_CHANGED = (
        "scale-changed",
        _E,
        "改动了上级规定的总分或计分方法",
        "the total or method the parent fixes was changed",
    )

    # -- grading ----------------------------------------------------------------------------
    NOT_GRADED = "not-graded", _E, "未能评级", "the county could not be graded"
    SCREENED_OUT = "screened-out", _E, "有数据的指标太少，未参评", "too few indicators have data: not assessed"
    NOT_IN_COHORT = "not-in-cohort", _E, "不在参与比较的县之中", "the county is not in the cohort compared"
    MISSING_DEPENDENCY = "missing-dependency", _E, "缺少所依赖的库", "a library the path needs is not installed"
    SCORER_FAILED = "scorer-failed", _E, "评分插件出错", "a scorer failed (a bug in the plugin)"
    SCORER_REJECTED = "scorer-rejected", _E, "评分方法拒绝了输入值", "a scorer refused the county's inputs"
    TIMEOUT = "timeout", _E, "评价超时", "the evaluation ran past its time limit"
    RECORDS_CHANGED = (
        "records-changed",
        _E,
        "记录在评级后被改动，说明与评级不符",
        "a record was changed after grading: its explanation would not match",
    )

    # -- plugins ----------------------------------------------------------------------------
    PLUGIN_FAILED = "plugin-failed", _E, "插件出错", "a plugin failed"
    PLUGIN_CONTRACT = "plugin-contract", _E, "插件违反接口约定", "a plugin broke the scorer contract"
    DUPLICATE_SCORER = "duplicate-scorer", _E, "两个插件提供同名评分方法", "two plugins provide the same scorer"
    DUPLICATE_PLUGIN = "duplicate-plugin", _E, "插件重复注册", "the same plugin is registered twice"
    PLUGIN_NOT_PICKLABLE = "plugin-not-picklable", _E, "插件无法发送给工作进程", "a plugin cannot be sent to workers"
    BAD_PLUGIN_FILE = "bad-plugin-file", _E, "插件文件不合规", "a plugin file that is not valid"
    MISSING_PLUGIN_FILE = "missing-plugin-file", _E, "插件文件不存在", "no such plugin file"
    WORKER_PLUGIN_MISSING = "worker-plugin-missing", _E, "工作进程缺少插件", "a worker lacks a plugin"
    WORKER_PLUGIN_VERSION = "worker-plugin-version", _E, "工作进程的插件版本不同", "a worker has another plugin version"
    NO_WORKERS = "no-workers", _E, "没有可用的工作进程", "no workers are available"

    # -- roll-ups ---------------------------------------------------------------------------
    NO_ROLLUP_CRITERIA = (
        "no-rollup-criteria",
        _E,
        "政策未声明信用村、信用乡镇的评定标准",
        "the policy declares no village and township criteria",
    )
    BAD_ROLLUP = "bad-rollup", _E, "信用村、信用乡镇评定标准有误", "a village or township criterion that cannot be used"
    NO_PARENTS = "no-parents", _E, "缺少上级单位", "rows name no parent unit"
    MISSING_PARENT = "missing-parent", _E, "缺少上级单位", "a row has no parent unit"
    CONFLICTING_PARENT = "conflicting-parent", _E, "上级单位前后不一致", "a unit is given two parents"
    BAD_ROLLUP_VALUE = "bad-rollup-value", _E, "汇总数据值不合规", "a roll-up value that is not valid"
    BAD_ROW = "bad-row", _E, "行数据不合规", "a row that is not valid"

    # -- analyses, cases and checks ---------------------------------------------------------
    BAD_RESULTS = "bad-results", _E, "评价结果文件不合规", "a results file that is not valid"
    BAD_ROSTER = "bad-roster", _E, "考核名单不合规", "a roster that is not valid"
    BAD_SETUP = "bad-setup", _E, "年度考核安排不合规", "a year's setup that is not valid"
    NOT_ON_ROSTER = "not-on-roster", _E, "报送了名单以外的县", "a county that is not on the city's roster was submitted"
    NOT_SUBMITTED = "not-submitted", _E, "名单内的县未报送", "a county on the roster is missing from its city's data"
    BAD_SENSITIVITY = "bad-sensitivity", _E, "敏感性分析参数不合规", "sensitivity settings that make no analysis"
    BAD_CASE = "bad-case", _E, "测试用例不合规", "a policy test case that is not valid"
    BAD_DATA = "bad-data", _E, "用例数据不合规", "a case's data is not valid"
    DUPLICATE_CASE = "duplicate-case", _E, "用例编号重复", "two cases have the same id"
    UNKNOWN_INDICATOR = "unknown-indicator", _E, "引用了不存在的指标", "a reference to an indicator that does not exist"
    UNKNOWN_ROW = "unknown-row", _E, "引用了不存在的行", "a reference to a row that does not exist"
    CHECK_LOADS = "check-loads", _E, "检查：政策能否加载", "check: the policy loads"
    CHECK_BANDS = "check-bands", _E, "检查：分段不重叠、无空隙", "check: bands neither overlap nor leave gaps"
    CHECK_RANGE = "check-range", _E, "检查：阈值在取值范围内", "check: thresholds lie within range"
    CHECK_WEIGHTS = "check-weights", _E, "检查：权重之和为 1", "check: weights add up to 1"
    CHECK_POINTS = "check-points", _E, "检查：分值之和等于总分", "check: points add up to the total"
    CHECK_UNUSED = "check-unused", _E, "检查：输入和指标都被用到", "check: every input and indicator counts"
    CHECK_REDUNDANT = "check-redundant", _E, "检查：没有多余的门槛或否决项", "check: no redundant gate or veto"
    CHECK_UNREACHABLE = "check-unreachable", _E, "检查：每个等级都可达到", "check: every grade can be reached"
    CHECK_NESTED = "check-nested", _E, "检查：等级条件逐级嵌套", "check: grade levels are nested"
    CHECK_DIRECTION = "check-direction", _E, "检查：评分方向与指标方向一致", "check: scorers reward the better way"
    CHECK_MONOTONE = "check-monotone", _E, "检查：改善输入不会降分", "check: improving an input never lowers a score"
    CHECK_SCORE_RANGE = "check-score-range", _E, "检查：得分在 0 与满分之间", "check: scores stay within their range"
    CHECK_SCORER_ERROR = "check-scorer-error", _E, "检查：评分方法不出错", "check: scorers grade valid records"
    CHECK_DETERMINISTIC = "check-deterministic", _E, "检查：结果可重复", "check: grading twice gives the same results"
    CHECK_ORDER = "check-order", _E, "检查：结果与县的顺序无关", "check: results do not depend on order"
    CHECK_INVALID_RECORD = "check-invalid-record", _E, "检查：不合规记录被拒绝", "check: an invalid record is refused"
    CHECK_ROUND_TRIP = "check-round-trip", _E, "检查：政策导出后重新加载不变", "check: a dumped policy reloads the same"
    CHECK_LAXER = "check-laxer", _E, "检查：市办法不比省办法宽松", "check: a city's method is no laxer than its parent"

    # -- filing and official results ----------------------------------------------------------
    BAD_KEY = "bad-key", _E, "密钥无效", "a key that is not valid"
    KEY_EXISTS = "key-exists", _E, "密钥已存在", "the key exists already"
    BAD_SIGNATURE = "bad-signature", _E, "签名无效", "a signature that does not verify"
    REGISTRY_UNWRITABLE = "registry-unwritable", _E, "备案库无法写入", "the registry cannot be written"
    LOG_DAMAGED = "log-damaged", _E, "备案日志已损坏", "the registry log is damaged"
    CHAIN_BROKEN = "chain-broken", _E, "日志哈希链断裂", "the log's hash chain is broken"
    ENTRY_EDITED = "entry-edited", _E, "日志条目被改动", "a log entry was edited"
    LOG_TRUNCATED = "log-truncated", _E, "日志比已签名检查点短", "the log is shorter than a signed checkpoint"
    LOG_DIVERGED = "log-diverged", _E, "日志与已签名检查点不一致", "the log diverges from a signed checkpoint"
    BAD_CHECKPOINT = "bad-checkpoint", _E, "检查点无效或签名不符", "a checkpoint that is unreadable or not signed"
    RECORD_DAMAGED = "record-damaged", _E, "备案记录已损坏", "a registry record is damaged"
    STRAY_RECORD = "stray-record", _E, "备案库中有日志未记载的文件", "a file in the registry that no log entry names"
    NOT_RESULTS = "not-results", _E, "不是评定结果集", "the subject is not a results set"
    UNSAFE_NAME = "unsafe-name", _E, "名称含不允许的字符", "a name with characters that are not allowed"
    PUBLISH_FAILED = "publish-failed", _E, "公布失败，未作记录", "publishing failed; nothing was logged"
    BAD_ATTESTATION = "bad-attestation", _E, "评定证明无效", "an attestation that does not match or cannot be read"
    UNATTESTED = "unattested", _E, "结果没有评定证明", "results without an attestation of an official run"
    UNSIGNED_ATTESTATION = "unsigned-attestation", _E, "评定证明未签名", "an attestation that no city key signed"
    UNREGISTERED_KEY = "unregistered-key", _E, "密钥未经省里登记", "a key the province has not registered"
    UNSIGNED_STEP = "unsigned-step", _E, "该步骤未签名", "a step that no key signed"
    WRONG_ROLE = "wrong-role", _E, "签名者无权执行该步骤", "a step signed by a role that may not take it"
    ALREADY_SUBMITTED = "already-submitted", _E, "已经报送", "submitted already"
    NO_TRUST = "no-trust", _E, "未给出省里的公钥", "the province's public key was not given"
    JSON_UNWRITABLE = "json-unwritable", _E, "无法写成 JSON 的值", "a value that cannot be written as JSON"
    CELL_TOO_LARGE = "cell-too-large", _E, "单元格内容超出上限", "a cell longer than the limit"
    NUMBER_OUT_OF_RANGE = (
        "number-out-of-range",
        _E,
        "数值超出可计算范围",
        "a number outside the range the arithmetic allows",
    )
    RECORD_CHANGED = "record-changed", _E, "备案记录被改动", "a filed record was changed"
    ALREADY_FILED = "already-filed", _E, "已经备案", "filed already"
    NOT_FILED = "not-filed", _E, "政策未备案", "the policy is not filed"
    STRAY_BYTECODE = (
        "stray-bytecode",
        _E,
        "已编译的字节码与其源文件不符",
        "compiled bytecode that its source does not give",
    )
    NOT_AS_FILED = "not-as-filed", _E, "政策与备案内容不一致", "the policy differs from what was filed"
    NOT_CERTIFIED = "not-certified", _E, "备案未经认定", "the filing is not certified"
    UNKNOWN_SUBJECT = "unknown-subject", _E, "备案库中无此对象", "the registry does not know the subject"
    WRONG_STATE = "wrong-state", _E, "当前状态不允许此操作", "the step is not allowed in the current state"
    UNOFFICIAL = "unofficial", _E, "不是正式评价结果", "the results are not from an official run"
    UNKNOWN_CITY = "unknown-city", _E, "无此省辖市代码", "no prefecture city has this code"
    WRONG_CITY = "wrong-city", _E, "不属于该市（越权）", "outside the city whose filing or key it is"
    BAD_DECISION = "bad-decision", _E, "逐县决定有误", "a per-county decision that cannot be taken"
    NOT_RETURNED = "not-returned", _E, "该县未被退回，不能更正", "a correction for a county that was not returned"
    RESULTS_NOT_DATA = (
        "results-not-data",
        _E,
        "给出的是评定结果而非评定数据",
        "a file of graded results where the data to grade was expected",
    )


_BY_NAME: Final[dict[str, Code]] = {str(code): code for code in Code}


def code_named(name: str) -> Code:
    """The registered code called ``name``; ``ValueError`` (naming where to register it) when there is none."""
    if isinstance(name, Code):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unregistered problem code {name!r}: add it to Code in fineco_rules/_codes.py "
            "with its severity and meaning, and to the table of codes in docs/api.md"
        ) from None
