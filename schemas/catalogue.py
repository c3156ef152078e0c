"""The rule catalogue: every code of spec/rules.md with its domain, default severity and
message template, in one place. Messages are filled from these templates, never built at
call sites. A code is never renamed or reused.

Domains: package 成果包, report 报表, drawing 图形, crs 坐标, cadastral 权籍调查,
property 房产测绘, planning 规划核实, cross 多测合一.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.file_names import name_bytes, readable_name
from schemas.findings import Finding, Place, Severity

RULESET_VERSION = "1.0.0"

DOMAIN_NAMES = {
    "package": "成果包",
    "report": "报表",
    "drawing": "图形",
    "crs": "坐标",
    "cadastral": "不动产权籍调查",
    "property": "房产测绘",
    "planning": "规划核实",
    "cross": "多测合一交叉检查",
}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    domain: str
    severity: Severity
    title: str
    template: str
    basis: str = ""  # what the rule rests on: the standard and clause, or the contract
    fix: str = ""  # what the firm does to clear it


def _r(
    code: str,
    domain: str,
    severity: Severity,
    title: str,
    template: str,
    *,
    basis: str = "",
    fix: str = "",
) -> Rule:
    return Rule(code, domain, severity, title, template, basis, fix)


_RULES = [
    # PKG — package and envelope
    _r("PKG-001", "package", "error", "成果包无法打开", "成果包无法打开：{reason}"),
    _r("PKG-002", "package", "error", "manifest.json 缺失或格式错误", "manifest.json {reason}"),
    _r("PKG-003", "package", "error", "清单所列文件缺失", "manifest.json 列出的文件 {path} 在成果包中不存在"),
    _r("PKG-004", "package", "error", "文件校验值不符", "文件 {path} 的 sha256 与 manifest.json 不符（清单 {expected}，实际 {actual}）"),
    _r("PKG-005", "package", "warning", "文件未列入清单", "文件 {path} 在成果包中但未列入 manifest.json"),
    _r("PKG-006", "package", "error", "不安全的压缩包条目", "条目 {path} 不安全（{reason}），已跳过，未读取"),
    _r("PKG-007", "package", "error", "成果包超出大小限制", "成果包超出限制：{reason}"),
    _r("PKG-008", "package", "error", "缺少必需部分", "成果包缺少必需部分：{part}"),
    _r("PKG-009", "package", "error", "图形格式不受支持", "{path} 是 {fmt} 格式，不受支持：请导出为 DXF 后重新提交"),
    _r("PKG-010", "package", "error", "项目编号不一致", "manifest.json 的 project_id {expected} 与 项目信息 XMBH {actual} 不一致"),
    # RPT — report tables
    _r("RPT-001", "report", "error", "缺少必需工作表", "报表缺少必需的工作表「{sheet}」"),
    _r("RPT-002", "report", "error", "缺少必需列", "工作表「{sheet}」缺少必需列 {column}"),
    _r("RPT-003", "report", "error", "值无法按类型读取", "「{sheet}」第 {row} 行 {column} 的值 “{value}” 无法读作{kind}"),
    _r("RPT-004", "report", "error", "必填值为空", "「{sheet}」第 {row} 行 {column} 为空"),
    _r("RPT-005", "report", "error", "值不在代码表内", "「{sheet}」第 {row} 行 {column} 的值 “{value}” 不在代码表内"),
    _r("RPT-006", "report", "error", "主键重复", "「{sheet}」第 {row} 行 {column} 的值 “{value}” 重复"),
    _r("RPT-007", "report", "error", "数值超出允许范围", "「{sheet}」第 {row} 行 {column} 的值 {value} 不在允许范围（{bound}）"),
    _r("RPT-008", "report", "warning", "小数位数过多", "「{sheet}」第 {row} 行 {column} 的值 {value} 小数位超过 {decimals} 位"),
    _r("RPT-009", "report", "error", "引用的主键不存在", "「{sheet}」第 {row} 行 {column} “{value}” 在「{target}」中不存在"),
    # DXF — drawings
    _r("DXF-001", "drawing", "error", "图形文件无法读取", "{path} 无法读取：{reason}；损坏前已读出 {entities} 个实体，依赖该图的检查已跳过。请在 CAD 中修复或重新导出该图后重新提交"),
    _r("DXF-002", "drawing", "warning", "图形文件经修复后读取", "{path} 已损坏，经修复后读取：{repairs}。请在 CAD 中核对并修复原图后重新导出"),
    _r("DXF-003", "drawing", "error", "缺少必需图层", "{path} 缺少图层 {layer} 或该图层为空"),
    _r("DXF-004", "drawing", "error", "应闭合的图形未闭合", "{path} 图层 {layer} 的{shape}（句柄 {handle}）未闭合，也未与其他线段围成闭合轮廓；请绘制为一条闭合多段线"),
    _r("DXF-005", "drawing", "error", "无效图形", "{path} 图层 {layer} 的图形（句柄 {handle}）无效：{reason}"),
    _r("DXF-006", "drawing", "error", "多边形与注记不匹配", "{path} 图层 {layer}：{reason}"),
    _r("DXF-007", "drawing", "error", "标识注记重复", "{path} 图层 {layer}：{reason}"),
    _r("DXF-008", "drawing", "warning", "文字编码有误", "{path} 的文字编码有误：{reason}。请核对图中文字，并另存为 R2007 及以上版本的 DXF（UTF-8 编码）"),
    _r("DXF-009", "drawing", "error", "闭合图形分段绘制", "{path} 图层 {layer} 的轮廓由 {count} 段分开绘制（句柄 {handles}），已拼合检查；请重绘为一条闭合多段线"),
    # CRS — coordinates
    _r("CRS-001", "crs", "error", "坐标系不符合要求", "坐标系 ZBX “{value}” 不是 CGCS2000 3° 高斯-克吕格投影（EPSG:4513–4554）"),
    _r("CRS-002", "crs", "error", "坐标超出投影带", "{what} 的坐标超出申报的投影带 {zone}：{reason}"),
    _r("CRS-003", "crs", "error", "X、Y 坐标颠倒", "{what} 的 X（北）与 Y（东）坐标颠倒：互换后才落在投影带内，请交换 X、Y 坐标"),
    _r("CRS-004", "crs", "error", "带号前缀错误", "{what} 的 Y 坐标带号前缀 {actual} 与申报的投影带 {expected} 不符"),
    _r("CRS-005", "crs", "warning", "项目不在本地区范围内", "项目位置（{lon:.4f}E, {lat:.4f}N）不在{area}范围内"),
    # CAD — cadastral survey
    _r("CAD-001", "cadastral", "error", "宗地代码结构错误", "宗地代码 {value} 结构错误：{reason}"),
    _r("CAD-002", "cadastral", "error", "不动产单元号结构错误", "{what} {value} 结构错误：{reason}"),
    _r("CAD-003", "cadastral", "error", "宗地特征码组合不允许", "宗地代码 {value} 的特征码 {pair} 不允许：第二位为 A 或 C 时第一位须为 J"),
    _r("CAD-004", "cadastral", "warning", "虚拟宗地代码", "宗地代码 {value} 为虚拟代码（地籍区与地籍子区为 000000）"),
    _r("CAD-005", "cadastral", "warning", "县级代码不在本地列表", "宗地代码 {value} 的县级代码 {county} 不在{area}的县级代码列表内"),
    _r("CAD-006", "cadastral", "error", "界址点编号错误", "宗地 {key} 的界址点：{reason}"),
    _r("CAD-007", "cadastral", "error", "界址点未按顺时针排列", "宗地 {key} 的界址点未按顺时针排列（测量坐标系有向面积 {actual:.3f} m² ≤ 0）"),
    _r("CAD-008", "cadastral", "warning", "界址点未从西北角起编", "宗地 {key} 的 J1 不是最靠近西北角的界址点（应为 {expected}）"),
    _r("CAD-009", "cadastral", "error", "界址点构成的多边形无效", "宗地 {key} 的界址点不构成有效多边形：{reason}"),
    _r("CAD-010", "cadastral", "error", "宗地面积与解析面积不符", "宗地 {key} 面积 {actual:.2f} m² 与界址点坐标解析面积 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance} m²"),
    _r("CAD-011", "cadastral", "error", "界址点表与宗地图不符", "宗地 {key} 界址点 {label}：{reason}"),
    _r("CAD-012", "cadastral", "error", "宗地图形未经过界址点", "宗地 {key} 的 ZD 图形与界址点不符：{reason}"),
    _r("CAD-013", "cadastral", "error", "勘丈边长超限", "宗地 {key} 界址边 {edge} 勘丈边长 {actual:.2f} m 与坐标边长 {expected:.2f} m 相差 {diff:.2f} m，超过{grade}限差 {tolerance} m"),
    _r("CAD-014", "cadastral", "error", "宗地重叠", "宗地 {key} 与宗地 {other} 重叠 {actual:.2f} m²"),
    _r("CAD-015", "cadastral", "error", "宗地不动产单元号错误", "宗地 {key} 的不动产单元号 {actual} 应为 {expected}"),
    # PRP — property survey
    _r("PRP-001", "property", "error", "建筑面积不等于套内与分摊之和", "户 {key} 实测建筑面积 {actual:.2f} m² ≠ 套内 + 分摊 {expected:.2f} m²"),
    _r("PRP-002", "property", "error", "分摊系数与全幢系数不符", "户 {key} 分摊系数 {actual} 与本幢分摊系数 {expected:.6f} 不符"),
    _r("PRP-003", "property", "error", "分摊面积计算错误", "户 {key} 分摊面积 {actual:.2f} m² 应为 {expected:.2f} m²（系数 × 套内面积）"),
    _r("PRP-004", "property", "error", "分摊面积合计与共有面积不符", "幢 {key} 各户分摊面积合计 {actual:.2f} m² 与共有部位面积合计 {expected:.2f} m² 相差超过 {tolerance} m²"),
    _r("PRP-005", "property", "error", "幢建筑面积与各户合计不符", "幢 {key} 实测建筑面积 {actual:.2f} m² 与各户合计 {expected:.2f} m² 相差超过 {tolerance} m²"),
    _r("PRP-006", "property", "error", "图上套内面积超限", "户 {key} 套内面积 图上 {actual:.2f} m² 与 报表 {expected:.2f} m² 相差 {diff:.2f} m²，超过{grade}限差 {tolerance:.2f} m²"),
    _r("PRP-007", "property", "error", "户与分层分户图不对应", "{reason}"),
    _r("PRP-008", "property", "error", "户图形位置错误", "{reason}"),
    _r("PRP-009", "property", "warning", "实测与预测面积误差超过 3%", "户 {key} 实测建筑面积 {actual:.2f} m² 与预测 {expected:.2f} m² 误差 {ratio:.2%}，超过 3%（购房人可退房，按实测面积结算）"),
    _r("PRP-010", "property", "error", "层高不足 2.20 m 的层计算了面积", "幢 {key} 第 {floor} 层层高 {actual:.2f} m 低于 {expected:.2f} m，不应计算房产面积，但有户面积"),
    _r("PRP-011", "property", "error", "层表与层数不符", "幢 {key} 的层表：{reason}"),
    _r("PRP-012", "property", "error", "户号与单元号不符", "户 {key} 户号 {actual} 与不动产单元号后四位 {expected} 不符"),
    _r("PRP-013", "property", "error", "阳台注记或位置错误", "{reason}"),
    # PLN — planning verification
    _r("PLN-001", "planning", "error", "缺少项目规划指标", "规划指标缺少项目级指标 {indicator}"),
    _r("PLN-002", "planning", "error", "超过规划许可上限", "{scope} {indicator} 实测 {actual} 超过规划许可 {expected}（允许 {tolerance}）"),
    _r("PLN-003", "planning", "error", "低于规划许可下限", "{scope} {indicator} 实测 {actual} 低于规划许可 {expected}"),
    _r("PLN-004", "planning", "error", "层数与规划许可不符", "{scope} {indicator} 实测 {actual} ≠ 规划许可 {expected}"),
    _r("PLN-005", "planning", "error", "用地面积与红线图形不符", "用地面积实测值 {actual:.2f} m² 与用地红线图形面积 {expected:.2f} m² 相差超过 {tolerance} m²"),
    _r("PLN-006", "planning", "error", "基底面积与图形不符", "基底面积实测值 {actual:.2f} m² 与建筑基底图形面积合计 {expected:.2f} m² 相差超过 {tolerance:.2f} m²"),
    _r("PLN-007", "planning", "error", "建筑密度计算错误", "建筑密度 {actual} 应为 {expected}（基底面积 / 用地面积 × 100）"),
    _r("PLN-008", "planning", "error", "绿地率与图形不符", "绿地率 {actual} 应为 {expected}（红线内绿地图形面积 / 用地面积 × 100）"),
    _r("PLN-009", "planning", "error", "容积率计算错误", "容积率 {actual} 应为 {expected}（计容建筑面积 / 用地面积）"),
    _r("PLN-010", "planning", "error", "建筑超出用地红线", "{key} 基底超出用地红线 {actual:.2f} m，超过 {tolerance} m"),
    _r("PLN-011", "planning", "error", "退让距离与图上量算不符", "{key} 至{target}退让距离 报表 {actual:.2f} m 与图上量算 {expected:.2f} m 相差超过 {tolerance} m"),
    _r("PLN-012", "planning", "error", "退让距离不足", "{key} 至{target}退让距离 图上量算 {actual:.2f} m 小于规划要求 {expected:.2f} m"),
    _r("PLN-013", "planning", "error", "建筑与基底图形不对应", "{reason}"),
    _r("PLN-014", "planning", "error", "幢规划指标与自然幢表不符", "幢 {key} 规划指标 {indicator} 实测 {actual} 与自然幢表 {expected} 不符"),
    # XSV — across the three surveys
    _r("XSV-001", "cross", "error", "代码不属于任何宗地", "{what} {value} 的前 19 位不是任何宗地的宗地代码"),
    _r("XSV-002", "cross", "error", "户单元号与自然幢号不符", "户 {key} 的不动产单元号前 24 位 {actual} 与自然幢号 {expected} 不符"),
    _r("XSV-003", "cross", "error", "宗地与用地红线不一致", "宗地 {key} 图形与用地红线的豪斯多夫距离 {actual:.3f} m，超过{grade}限差 {tolerance} m"),
    _r("XSV-004", "cross", "error", "宗地面积与用地面积不符", "宗地面积 {actual:.2f} m² 与用地面积实测值 {expected:.2f} m² 相差超过 {tolerance} m²"),
    _r("XSV-005", "cross", "error", "建筑超出宗地", "{key} 基底超出宗地 {actual:.2f} m，超过 {tolerance} m"),
    _r("XSV-006", "cross", "error", "幢占地面积与基底图形不符", "幢 {key} 占地面积 {actual:.2f} m² 与总平面图基底面积 {expected:.2f} m² 相差超过 {tolerance:.2f} m²"),
    _r("XSV-007", "cross", "warning", "房产与规划总建筑面积差异较大", "各幢实测建筑面积合计 {actual:.2f} m² 与规划总建筑面积实测值 {expected:.2f} m² 相差 {ratio:.2%}，超过 {tolerance:.0%}"),
    _r("XSV-008", "cross", "error", "层数与分层分户图不符", "幢 {key} {indicator} {actual} 与分层分户图中的层框 {expected} 层不符"),
    # --- codes added after v1.1 are appended below this line, each with basis= and fix= ---
]

CATALOGUE: dict[str, Rule] = {r.code: r for r in _RULES}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format_map(_Blank(params))
    except (ValueError, TypeError, KeyError):
        # a format spec that does not fit the value (e.g. None with :.2f): plain rendering
        plain = {k: ("?" if v is None else v) for k, v in params.items()}
        import re

        return re.sub(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}", lambda m: str(plain.get(m.group(1), "?")), template)


def _clean(value: Any) -> Any:
    """Text safe to print and to write as UTF-8: a file name that is not UTF-8 arrives with
    lone surrogates (os.scandir's surrogateescape); read it as a package reads file names
    (:func:`schemas.file_names.readable_name`), else mark the bytes that cannot be read."""
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        text = readable_name(value)
        if text is not None:
            return text
        raw = name_bytes(value)
        if raw is None:  # a lone surrogate no bytes stand behind
            return value.encode("utf-8", "replace").decode("utf-8")
        return raw.decode("utf-8", "replace")


def make(
    code: str,
    place: Place | None = None,
    *,
    expected: float | str | None = None,
    actual: float | str | None = None,
    tolerance: float | None = None,
    location: tuple[float, float] | None = None,
    local: tuple[float, float] | None = None,
    **params: Any,
) -> Finding:
    """A finding of ``code`` with its message filled from the catalogue template.

    ``expected``, ``actual`` and ``tolerance`` are also offered to the template.
    """
    rule = CATALOGUE[code]
    params = {k: _clean(v) for k, v in params.items()}
    if place is not None:
        place = Place(**{k: _clean(v) for k, v in place.as_dict().items()})
    values = {"expected": expected, "actual": actual, "tolerance": tolerance, **params}
    if place is not None:
        values.setdefault("key", place.key)
        values.setdefault("sheet", place.sheet)
        values.setdefault("row", place.row)
        values.setdefault("layer", place.layer)
        values.setdefault("handle", place.handle)
        values.setdefault("path", place.file)
    return Finding(
        code=code,
        severity=rule.severity,
        domain=rule.domain,
        message=f"[{code}] " + _fill(rule.template, values),
        object=place or Place(),
        expected=expected,
        actual=actual,
        tolerance=tolerance,
        location=location,
        local=local,
    )
