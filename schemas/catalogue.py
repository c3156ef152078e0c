"""The rule catalogue: every code of spec/rules.md with its domain, default severity and
message template, in one place. Messages are filled from these templates, never built at
call sites. A code is never renamed or reused.

Domains: package 成果包, report 报表, drawing 图形, crs 坐标, cadastral 权籍调查,
property 房产测绘, planning 规划核实, cross 多测合一.
"""

from __future__ import annotations

import re
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


_P = "成果包格式约定（docs/package.md）"
_R = "成果包格式约定 报表（docs/package.md §报表）"
_D = "成果包格式约定 图形（docs/package.md §图形）"
_FC = "GB/T 17986.1-2000 房产测量规范"
_DJ = "TD/T 1001-2012 地籍调查规程"
_DM = "GB/T 37346-2019 不动产单元设定与代码编制规则"
_GH = "GB 55018-2021 工程测量通用规范 §5.2；GB/T 50353-2013 建筑工程建筑面积计算规范"
_RESUBMIT = "修改后重新打包（更新 manifest.json 的 sha256）并重新提交"

_RULES = [
    # PKG — package and envelope
    _r("PKG-001", "package", "error", "成果包无法打开", "成果包无法打开：{reason}",
       basis=_P + "：成果包为目录或 zip 压缩包", fix="用常见压缩工具重新打包为 zip（不加密、不分卷），确认能在本机解压后重新提交"),
    _r("PKG-002", "package", "error", "manifest.json 缺失或格式错误", "manifest.json {reason}",
       basis=_P + " §manifest.json", fix="在成果包根目录放入 UTF-8 编码的 manifest.json，写全 project_id、files 等必需字段，可用 duoce 生成的样例对照"),
    _r("PKG-003", "package", "error", "清单所列文件缺失", "manifest.json 列出的文件 {path} 在成果包中不存在",
       basis=_P + " §manifest.json：清单所列文件必须在包内", fix="补入该文件，或从 manifest.json 的 files 中删去该条目；" + _RESUBMIT),
    _r("PKG-004", "package", "error", "文件校验值不符", "文件 {path} 的 sha256 与 manifest.json 不符（清单 {expected}，实际 {actual}）",
       basis=_P + " §manifest.json：每个文件的 sha256", fix="文件在生成清单后被改动过：确认使用的是最终版本，重新计算 sha256 写入 manifest.json"),
    _r("PKG-005", "package", "warning", "文件未列入清单", "文件 {path} 在成果包中但未列入 manifest.json",
       basis=_P + " §manifest.json：包内文件均应列入清单", fix="把该文件及其 sha256 加入 manifest.json，或从成果包中删去无关文件"),
    _r("PKG-006", "package", "error", "不安全的压缩包条目", "条目 {path} 不安全（{reason}），已跳过，未读取",
       basis=_P + "：条目只能是包内相对路径的普通文件", fix="不要打包绝对路径、“..”、符号链接或设备文件；在成果目录内直接压缩普通文件"),
    _r("PKG-007", "package", "error", "成果包超出大小限制", "成果包超出限制：{reason}",
       basis=_P + " §大小限制（城市配置可调）", fix="删去与验收无关的文件（影像、备份、临时文件），图形清理无用实体后重新导出，再打包提交"),
    _r("PKG-008", "package", "error", "缺少必需部分", "成果包缺少必需部分：{part}",
       basis=_P + " §目录结构：报表、site.dxf、parcel.dxf、每幢的分层分户图", fix="补齐所缺文件，文件名与目录按约定书写；无法读取的报表请用 Excel 另存为 .xlsx 后重新提交"),
    _r("PKG-009", "package", "error", "图形格式不受支持", "{path} 是 {fmt} 格式，不受支持：请导出为 DXF 后重新提交",
       basis=_P + " §图形：只接受 DXF", fix="在 CAD 中“另存为”DXF（R2007 及以上版本），替换原文件并更新 manifest.json"),
    _r("PKG-010", "package", "error", "项目编号不一致", "manifest.json 的 project_id {expected} 与 项目信息 XMBH {actual} 不一致",
       basis=_P + " §manifest.json：project_id 即项目编号", fix="以规划许可上的项目编号为准，统一 manifest.json 的 project_id 与「项目信息」的项目编号"),
    # RPT — report tables
    _r("RPT-001", "report", "error", "缺少必需工作表", "报表缺少必需的工作表「{sheet}」",
       basis=_R + "：工作表及其名称", fix="按约定补入该工作表，工作表名称与约定一致（名称不超过 256 个字符），表头在第 1 行"),
    _r("RPT-002", "report", "error", "缺少必需列", "工作表「{sheet}」缺少必需列 {column}",
       basis=_R + "：各表的必需字段", fix="在第 1 行表头补入该列，表头写中文名、字段代码或“中文名(代码)”；不要在表头上方加标题行"),
    _r("RPT-003", "report", "error", "值无法按类型读取", "「{sheet}」第 {row} 行 {column}{at} 的值 “{value}” 无法读作{kind}",
       basis=_R + "：字段类型（数值、整数、日期 YYYY-MM-DD）", fix="把该单元格改为纯数值或日期，去掉单位、说明文字和多余符号"),
    _r("RPT-004", "report", "error", "必填值为空", "「{sheet}」第 {row} 行 {column}{at} 为空",
       basis=_R + "：必填字段", fix="填写该单元格；合并单元格请取消合并并逐行填写"),
    _r("RPT-005", "report", "error", "值不在代码表内", "「{sheet}」第 {row} 行 {column}{at} 的值 “{value}” 不在代码表内",
       basis=_R + " §代码表（房屋结构、房屋用途、权利类型等，依 " + _FC + " 与 TD/T 1001-2012）", fix="改为代码表中的代码或名称（如“0701”或“城镇住宅用地”），代码表见成果包格式约定（docs/package.md）"),
    _r("RPT-006", "report", "error", "主键重复", "「{sheet}」第 {row} 行 {column}{at} 的值 “{value}” 重复",
       basis=_R + "：各表主键唯一（宗地代码、自然幢号+实际层、不动产单元号等）", fix="删除重复行，或更正其中写错的编号"),
    _r("RPT-007", "report", "error", "数值超出允许范围", "「{sheet}」第 {row} 行 {column}{at} 的值 {value} 不在允许范围（{bound}）",
       basis=_R + "：面积、长度、高度大于 0，层数不小于 1，实际层不为 0", fix="核对该值（常见为漏填、填 0 或正负号写错）并更正"),
    _r("RPT-008", "report", "warning", "小数位数过多", "「{sheet}」第 {row} 行 {column}{at} 的值 {value} 小数位超过 {decimals} 位",
       basis=_R + "；" + _FC + "（面积、边长取至 0.01 m²/0.01 m）；" + _DJ + "（坐标取至 0.001 m）", fix="按规定位数四舍五入后填写，不要保留计算过程中的多余小数"),
    _r("RPT-009", "report", "error", "引用的主键不存在", "「{sheet}」第 {row} 行 {column}{at} “{value}” 在「{target}」中不存在",
       basis=_R + "：各表之间的编号引用", fix="更正该编号，或在被引用的工作表中补入对应行"),
    # DXF — drawings
    _r("DXF-001", "drawing", "error", "图形文件无法读取", "{path} 无法读取：{reason}；损坏前已读出 {entities} 个实体，依赖该图的检查已跳过。请在 CAD 中修复或重新导出该图后重新提交",
       basis=_D + "：DXF 文件须完整可读", fix="在 CAD 中打开原图执行“修复”（RECOVER）与“清理”（PURGE），另存为 DXF 后重新提交"),
    _r("DXF-002", "drawing", "warning", "图形文件经修复后读取", "{path} 已损坏，经修复后读取：{repairs}。请在 CAD 中核对并修复原图后重新导出",
       basis=_D + "：DXF 文件须完整可读", fix="在 CAD 中执行“修复”（RECOVER），核对被修复或删除的实体后重新导出"),
    _r("DXF-003", "drawing", "error", "缺少必需图层", "{path} 缺少图层 {layer} 或该图层为空",
       basis=_D + " §图层（城市配置可改图层名）", fix="把相应要素放到约定的图层上（图层名区分大小写），不要放在 0 层"),
    _r("DXF-004", "drawing", "error", "应闭合的图形未闭合", "{path} 图层 {layer} 的{shape}（句柄 {handle}）未闭合，也未与其他线段围成闭合轮廓；请绘制为一条闭合多段线",
       basis=_D + "：面状要素以闭合多段线表示", fix="用 PEDIT 的“闭合”或 JOIN 把轮廓改为一条闭合多段线，首末点重合"),
    _r("DXF-005", "drawing", "error", "无效图形", "{path} 图层 {layer} 的图形（句柄 {handle}）无效：{reason}",
       basis=_D + "：面状要素须为有效多边形（OGC 简单要素）", fix="删除重复点与自相交部分，重绘为不自交、面积大于 0 的闭合多段线"),
    _r("DXF-006", "drawing", "error", "多边形与注记不匹配", "{path} 图层 {layer}：{reason}",
       basis=_D + "：每个面状要素内有且只有一个标识注记", fix="把注记的插入点移到所属图形内部，补上缺少的注记或删去多余的注记"),
    _r("DXF-007", "drawing", "error", "标识注记重复", "{path} 图层 {layer}：{reason}",
       basis=_D + "：户号、层号、幢号、宗地代码、界址点号在各自范围内唯一", fix="更正重复的注记文字，或删去复制时多出的注记"),
    _r("DXF-008", "drawing", "warning", "文字编码有误", "{path} 的文字编码有误：{reason}。请核对图中文字，并另存为 R2007 及以上版本的 DXF（UTF-8 编码）",
       basis=_D + "：DXF R2007 及以上版本（UTF-8）", fix="另存为 R2007 及以上版本的 DXF，核对图中中文注记是否显示正常"),
    _r("DXF-009", "drawing", "error", "闭合图形分段绘制", "{path} 图层 {layer} 的轮廓由 {count} 段分开绘制（句柄 {handles}），已拼合检查；请重绘为一条闭合多段线",
       basis=_D + "：面状要素以一条闭合多段线表示", fix="用 JOIN（合并）把这些线段合为一条闭合多段线"),
    # CRS — coordinates
    _r("CRS-001", "crs", "error", "坐标系不符合要求", "坐标系 ZBX “{value}” 不是 CGCS2000 3° 高斯-克吕格投影（EPSG:4513–4554）",
       basis="自然资源部关于全面使用 2000 国家大地坐标系的要求；" + _R + "「项目信息」坐标系", fix="在「项目信息」坐标系填写 EPSG 代码（如 EPSG:4548）或“CGCS2000 3度带 中央经线117”，并把成果转换到该坐标系"),
    _r("CRS-002", "crs", "error", "坐标超出投影带", "{what} 的坐标超出申报的投影带 {zone}：{reason}",
       basis="CGCS2000 3° 高斯-克吕格投影带的范围", fix="核对坐标系与带号；确认图形未按比例缩放、未平移到局部坐标"),
    _r("CRS-003", "crs", "error", "X、Y 坐标颠倒", "{what} 的 X（北）与 Y（东）坐标颠倒：互换后才落在投影带内，请交换 X、Y 坐标",
       basis=_DJ + "：测量坐标系 X 为北、Y 为东；DXF 中 x 为东、y 为北", fix="交换报表中 X、Y 两列（或图形的 x、y）后重新提交"),
    _r("CRS-004", "crs", "error", "带号前缀错误", "{what} 的 Y 坐标带号前缀 {actual} 与申报的投影带 {expected} 不符",
       basis="CGCS2000 3° 带：带号加在 Y 坐标前（如 39 带 Y = 39 xxx xxx.xxx）", fix="去掉带号前缀，或改为申报坐标系对应的带号"),
    _r("CRS-005", "crs", "warning", "项目不在本地区范围内", "项目位置（{lon:.4f}E, {lat:.4f}N）不在{area}范围内",
       basis="城市配置的辖区范围", fix="核对坐标系、带号与坐标；确属外地项目请向受理窗口说明"),
    # CAD — cadastral survey
    _r("CAD-001", "cadastral", "error", "宗地代码结构错误", "宗地代码 {value} 结构错误：{reason}",
       basis=_DM + " §宗地代码（19 位：县级 6 位 + 地籍区 3 位 + 地籍子区 3 位 + 特征码 2 位 + 顺序号 5 位）", fix="按不动产登记机构核发的宗地代码填写，核对位数与特征码"),
    _r("CAD-002", "cadastral", "error", "不动产单元号结构错误", "{what} {value} 结构错误：{reason}",
       basis=_DM + " §不动产单元代码（28 位）", fix="按“宗地代码 + 定着物特征码 + 幢号 4 位 + 户号 4 位”重编不动产单元号"),
    _r("CAD-003", "cadastral", "error", "宗地特征码组合不允许", "宗地代码 {value} 的特征码 {pair} 不允许：第二位为 A 或 C 时第一位须为 J",
       basis=_DM + " §宗地特征码", fix="更正宗地特征码，以登记机构核发的宗地代码为准"),
    _r("CAD-004", "cadastral", "warning", "虚拟宗地代码", "宗地代码 {value} 为虚拟代码（地籍区与地籍子区为 000000）",
       basis=_DM + "：地籍区、地籍子区为 000000 的代码为虚拟代码", fix="向登记机构申请正式宗地代码后替换"),
    _r("CAD-005", "cadastral", "warning", "县级代码不在本地列表", "宗地代码 {value} 的县级代码 {county} 不在{area}的县级代码列表内",
       basis="GB/T 2260 行政区划代码；城市配置的县级代码列表", fix="核对宗地代码前 6 位的县级行政区划代码"),
    _r("CAD-006", "cadastral", "error", "界址点编号错误", "宗地 {key} 的界址点：{reason}",
       basis=_DJ + " 界址点编号", fix="每宗地至少 3 个界址点，顺序号从 1 起连续，界址点号不重复"),
    _r("CAD-007", "cadastral", "error", "界址点未按顺时针排列", "宗地 {key} 的界址点未按顺时针排列（测量坐标系有向面积 {actual:.2f} m² ≤ 0）",
       basis=_DJ + "：界址点按顺时针方向编列", fix="把界址点按顺时针方向重新排序编号（逆序即可）"),
    _r("CAD-008", "cadastral", "warning", "界址点未从西北角起编", "宗地 {key} 的 J1 不是最靠近西北角的界址点（应为 {expected}）",
       basis=_DJ + "：界址点从宗地西北角起顺时针编号", fix="以最靠近西北角的界址点为 J1 重新编号"),
    _r("CAD-009", "cadastral", "error", "界址点构成的多边形无效", "宗地 {key} 的界址点不构成有效多边形：{reason}",
       basis=_DJ + "：界址线构成闭合、不自交的宗地范围", fix="核对界址点坐标与顺序，删去重复点，消除界址线交叉"),
    _r("CAD-010", "cadastral", "error", "宗地面积与解析面积不符", "宗地 {key} 面积 {actual:.2f} m² 与界址点坐标解析面积 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis=_DJ + " 宗地面积以界址点坐标解析法计算", fix="用界址点坐标重新计算宗地面积并填写，或核对写错的界址点坐标"),
    _r("CAD-011", "cadastral", "error", "界址点表与宗地图不符", "宗地 {key} 界址点 {label}：{reason}",
       basis=_DJ + "：宗地图与界址点成果表一致", fix="使宗地图 JZD 图层的界址点与「界址点」表的点号、坐标一一对应"),
    _r("CAD-012", "cadastral", "error", "宗地图形未经过界址点", "宗地 {key} 的 ZD 图形与界址点不符：{reason}",
       basis=_DJ + "：宗地界线由界址点连成", fix="用界址点坐标重绘宗地界线（ZD 图层），每个顶点落在界址点上"),
    _r("CAD-013", "cadastral", "error", "勘丈边长超限", "宗地 {key} 界址边 {edge} 勘丈边长 {actual:.2f} m 与坐标边长 {expected:.2f} m 相差 {diff:.2f} m，超过{grade}限差 {tolerance:.2f} m",
       basis=_DJ + " 界址点精度：界址点间距允许误差 一级 0.10 m、二级 0.15 m、三级 0.20 m", fix="复核该界址边的勘丈边长（重新丈量）或两端界址点坐标"),
    _r("CAD-014", "cadastral", "error", "宗地重叠", "宗地 {key} 与宗地 {other} 重叠 {actual:.2f} m²",
       basis=_DJ + "：宗地之间不重叠", fix="核对两宗地共用界址点的坐标，使共用界线重合"),
    _r("CAD-015", "cadastral", "error", "宗地不动产单元号错误", "宗地 {key} 的不动产单元号 {actual} 应为 {expected}",
       basis=_DM + "：土地的不动产单元号为宗地代码 + W00000000", fix="把宗地的不动产单元号改为宗地代码后接 W00000000"),
    # PRP — property survey
    _r("PRP-001", "property", "error", "建筑面积不等于套内与分摊之和", "户 {key} 实测建筑面积 {actual:.2f} m² ≠ 套内 + 分摊 {expected:.2f} m²，相差 {diff:.2f} m²",
       basis=_FC + " §9：套内建筑面积与分摊的共有建筑面积之和即成套房屋的建筑面积", fix="重算该户建筑面积（套内建筑面积 + 分摊面积）后填写"),
    _r("PRP-002", "property", "error", "分摊系数与全幢系数不符", "户 {key} 分摊系数 {actual:.6f} 与本幢分摊系数 {expected:.6f} 不符",
       basis=_FC + " 附录 B 共有建筑面积的分摊：分摊系数 = 共有建筑面积 / 套内建筑面积之和", fix="按本幢共有部位面积合计 / 各户套内建筑面积合计重算分摊系数，各户一致"),
    _r("PRP-003", "property", "error", "分摊面积计算错误", "户 {key} 分摊面积 {actual:.2f} m² 应为 {expected:.2f} m²（系数 × 套内面积），相差 {diff:.2f} m²",
       basis=_FC + " 附录 B：分摊面积 = 分摊系数 × 套内建筑面积", fix="以全幢分摊系数乘套内建筑面积，四舍五入至 0.01 m² 后填写"),
    _r("PRP-004", "property", "error", "分摊面积合计与共有面积不符", "幢 {key} 各户分摊面积合计 {actual:.2f} m² 与共有部位面积合计 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis=_FC + " 附录 B：各户分摊面积之和等于应分摊的共有建筑面积（允许每户 0.005 m² 的舍入）", fix="核对「共有部位」表与各户分摊面积；舍入差调整到面积最大的一户"),
    _r("PRP-005", "property", "error", "幢建筑面积与各户合计不符", "幢 {key} 实测建筑面积 {actual:.2f} m² 与各户合计 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis=_FC + "：幢建筑面积为各户建筑面积之和（允许每户 0.005 m² 的舍入）", fix="重算幢实测建筑面积，或补齐漏列的户"),
    _r("PRP-006", "property", "error", "图上套内面积超限", "户 {key} 套内面积 图上 {actual:.2f} m² 与 报表 {expected:.2f} m² 相差 {diff:.2f} m²，超过{grade}限差 {tolerance:.2f} m²",
       basis=_FC + " §3.2 房产面积精度（限差为中误差的 2 倍：一级 0.02√S+0.0006S，二级 0.04√S+0.002S，三级 0.08√S+0.006S）", fix="核对分层分户图中该户的轮廓（含阳台，未封闭阳台计一半）与报表套内建筑面积，改正错误的一方"),
    _r("PRP-007", "property", "error", "户与分层分户图不对应", "{reason}",
       basis=_D + "：分层分户图中每户一个闭合轮廓，注记户号", fix="在该幢分层分户图的对应层框内绘出该户并注记户号，或删去报表中多余的户"),
    _r("PRP-008", "property", "error", "户图形位置错误", "{reason}",
       basis=_D + "：户轮廓位于所在层框内、户与户不重叠", fix="把户轮廓移入所在层的层框内，消除与相邻户的重叠"),
    _r("PRP-009", "property", "warning", "实测与预测面积误差超过 3%", "户 {key} 实测建筑面积 {actual:.2f} m² 与预测 {expected:.2f} m² 误差 {ratio:.2%}，超过 3%（购房人可退房，按实测面积结算）",
       basis="商品房销售管理办法（建设部令第 88 号）第二十条：面积误差比绝对值超出 3%", fix="复核实测面积；属实的请告知开发企业按规定处理"),
    _r("PRP-010", "property", "error", "层高不足 2.20 m 的层计算了面积", "幢 {key} 第 {floor} 层层高 {actual:.2f} m 低于 {expected:.2f} m，不应计算房产面积，但有户面积",
       basis=_FC + " §8.2：层高 2.20 m 以下的部位不计算建筑面积", fix="核对层高；层高确不足 2.20 m 的，该层不计算房产面积"),
    _r("PRP-011", "property", "error", "层表与层数不符", "幢 {key} 的层表：{reason}",
       basis=_R + "「层」表：地上 1..地上层数，地下 −1..−地下层数", fix="在「层」表补齐或删去相应的层，使其与自然幢的地上、地下层数一致"),
    _r("PRP-012", "property", "error", "户号与单元号不符", "户 {key} 户号 {actual} 与不动产单元号后四位 {expected} 不符",
       basis=_DM + "：不动产单元号后 4 位为户号", fix="统一户号与不动产单元号末 4 位"),
    _r("PRP-013", "property", "error", "阳台注记或位置错误", "{reason}",
       basis=_FC + " §8.2：封闭阳台计全面积，未封闭阳台计一半面积；" + _D, fix="在阳台（FC_YT）内注记“封闭”或“未封闭”，并使阳台与所属户相接"),
    # PLN — planning verification
    _r("PLN-001", "planning", "error", "缺少项目规划指标", "规划指标缺少项目级指标 {indicator}",
       basis=_GH + "；" + _R + "「规划指标」", fix="在「规划指标」表补入该项目级指标（范围写“项目”），填写规划值与实测值"),
    _r("PLN-002", "planning", "error", "超过规划许可上限", "{scope} {indicator} 实测 {actual:.{digits}f}{unit} 超过规划许可 {expected:.{digits}f}{unit}，超出 {diff:.{digits}f}{unit}（允许超出 {tolerance:.{digits}f}{unit}）",
       basis=_GH + "；城市规划核实的允许误差（城市配置）", fix="核对实测值；确实超出的须依规划许可整改或办理变更"),
    _r("PLN-003", "planning", "error", "低于规划许可下限", "{scope} {indicator} 实测 {actual:.{digits}f}{unit} 低于规划许可 {expected:.{digits}f}{unit}，相差 {diff:.{digits}f}{unit}",
       basis=_GH, fix="核对实测值；确实不足的须依规划许可整改（补足绿地、车位）"),
    _r("PLN-004", "planning", "error", "层数与规划许可不符", "{scope} {indicator} 实测 {actual:.0f} 层 ≠ 规划许可 {expected:.0f} 层",
       basis=_GH, fix="核对实测层数；与许可不符的须依规划许可整改或办理变更"),
    _r("PLN-005", "planning", "error", "用地面积与红线图形不符", "用地面积实测值 {actual:.2f} m² 与用地红线图形面积 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis=_GH + "；城市配置的面积允许误差", fix="以 site.dxf 用地红线（YDHX）重算用地面积，或更正红线图形"),
    _r("PLN-006", "planning", "error", "基底面积与图形不符", "基底面积实测值 {actual:.2f} m² 与建筑基底图形面积合计 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis=_GH + "；限差按 " + _FC + " 房产面积精度", fix="核对 site.dxf 建筑基底（JZJD）图形与报表基底面积"),
    _r("PLN-007", "planning", "error", "建筑密度计算错误", "建筑密度 {actual:.2f}% 应为 {expected:.2f}%（基底面积 / 用地面积 × 100），相差 {diff:.2f}%，超过 {tolerance:.2f}%",
       basis="GB 50180-2018 城市居住区规划设计标准 术语（建筑密度）；" + _GH, fix="以报表的基底面积、用地面积重算建筑密度，保留 2 位小数"),
    _r("PLN-008", "planning", "error", "绿地率与图形不符", "绿地率 {actual:.2f}% 应为 {expected:.2f}%（红线内绿地图形面积 / 用地面积 × 100），相差 {diff:.2f}%，超过 {tolerance:.2f}%",
       basis="GB 50180-2018 城市居住区规划设计标准 术语（绿地率）；" + _GH, fix="以用地红线内的绿地（LDFW）图形面积重算绿地率，或更正绿地图形"),
    _r("PLN-009", "planning", "error", "容积率计算错误", "容积率 {actual:.2f} 应为 {expected:.2f}（计容建筑面积 / 用地面积），相差 {diff:.2f}，超过 {tolerance:.2f}",
       basis="GB 50180-2018 城市居住区规划设计标准 术语（容积率）；" + _GH, fix="以报表的计容建筑面积、用地面积重算容积率，保留 2 位小数"),
    _r("PLN-010", "planning", "error", "建筑超出用地红线", "{key} 基底超出用地红线 {actual:.2f} m，超过 {tolerance:.2f} m",
       basis=_GH + "：建筑不得超出规划用地范围", fix="核对建筑基底与用地红线图形；确实越线的须整改"),
    _r("PLN-011", "planning", "error", "退让距离与图上量算不符", "{key} 至{target}退让距离 报表 {actual:.2f} m 与图上量算 {expected:.2f} m 相差 {diff:.2f} m，超过 {tolerance:.2f} m",
       basis=_GH + "；城市配置的距离允许误差", fix="在 site.dxf 上重新量取基底至红线的最短距离填入「退让」表，或更正图形"),
    _r("PLN-012", "planning", "error", "退让距离不足", "{key} 至{target}退让距离 图上量算 {actual:.2f} m 小于规划要求 {expected:.2f} m，相差 {diff:.2f} m",
       basis=_GH + "：退让距离不小于规划条件", fix="核对图形与规划要求；确实不足的须依规划许可整改"),
    _r("PLN-013", "planning", "error", "建筑与基底图形不对应", "{reason}",
       basis=_D + "：site.dxf 每幢建筑一个基底轮廓，注记“n#”", fix="为「自然幢」表的每幢在 JZJD 图层绘出基底并注记幢号，或删去多余的基底"),
    _r("PLN-014", "planning", "error", "幢规划指标与自然幢表不符", "幢 {key} 规划指标 {indicator} 实测 {actual} 与自然幢表 {expected} 不符",
       basis=_R + "：同一幢的层数、高度在各表一致（一测多用）", fix="统一「规划指标」幢级指标与「自然幢」表的地上层数、建筑高度"),
    # XSV — across the three surveys
    _r("XSV-001", "cross", "error", "代码不属于任何宗地", "{what} {value} 的前 19 位不是任何宗地的宗地代码",
       basis=_DM + "：自然幢号、不动产单元号以所在宗地代码开头", fix="更正自然幢号或不动产单元号的前 19 位，或在「宗地」表补入该宗地"),
    _r("XSV-002", "cross", "error", "户单元号与自然幢号不符", "户 {key} 的不动产单元号前 24 位 {actual} 与自然幢号 {expected} 不符",
       basis=_DM + "：户的不动产单元号 = 自然幢号 + 户号", fix="统一户的不动产单元号前 24 位与所在自然幢号"),
    _r("XSV-003", "cross", "error", "宗地与用地红线不一致", "宗地 {key} 图形与用地红线的豪斯多夫距离 {actual:.2f} m，超过{grade}限差 {tolerance:.2f} m",
       basis=_DJ + " 界址点精度；多测合一：同一范围只测一次", fix="使 parcel.dxf 的宗地界线与 site.dxf 的用地红线采用同一组界址点坐标"),
    _r("XSV-004", "cross", "error", "宗地面积与用地面积不符", "宗地面积 {actual:.2f} m² 与用地面积实测值 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis="多测合一：同一范围的面积只测一次，各成果一致", fix="统一「宗地」宗地面积与「规划指标」用地面积实测值"),
    _r("XSV-005", "cross", "error", "建筑超出宗地", "{key} 基底超出宗地 {actual:.2f} m，超过 {tolerance:.2f} m",
       basis=_DJ + "：建筑位于所在宗地内", fix="核对建筑基底与宗地界线；确实越界的须查明权属"),
    _r("XSV-006", "cross", "error", "幢占地面积与基底图形不符", "幢 {key} 占地面积 {actual:.2f} m² 与总平面图基底面积 {expected:.2f} m² 相差 {diff:.2f} m²，超过 {tolerance:.2f} m²",
       basis="多测合一：同一基底只测一次；限差按 " + _FC + " 房产面积精度", fix="统一「自然幢」占地面积与 site.dxf 建筑基底图形"),
    _r("XSV-007", "cross", "warning", "房产与规划总建筑面积差异较大", "各幢实测建筑面积合计 {actual:.2f} m² 与规划总建筑面积实测值 {expected:.2f} m² 相差 {diff:.2f} m²（{ratio:.2%}），超过 {tolerance:.0%}",
       basis=_FC + " 与 GB/T 50353-2013 的面积计算规则不同，差异较大时提示核对（城市配置）", fix="核对两套面积的计算范围；差异有依据的可在报告中说明"),
    _r("XSV-008", "cross", "error", "层数与分层分户图不符", "幢 {key} {indicator} {actual} 与分层分户图中的层框 {expected} 层不符",
       basis=_D + "：分层分户图每层一个层框", fix="补齐或删去分层分户图中的层框，或更正「自然幢」的层数"),
    # --- codes added after v1.1 are appended below this line, each with basis= and fix= ---
    _r("PKG-011", "package", "info", "同类问题过多，未逐条列出",
       "代码 {of}（{title}）另有 {count} 条问题未逐条列出：每个代码最多列出 {limit} 条（城市配置可调）",
       basis=_P + " §大小限制：每个代码列出的问题条数有上限，超出部分合并为一条说明",
       fix="按已列出的问题找出共同原因（多为同一处错误的重复出现）并一并修正，重新提交后再看其余问题"),
]

CATALOGUE: dict[str, Rule] = {r.code: r for r in _RULES}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


_FIELD = re.compile(r"\{(\w+)(?:![rsa])?(?::((?:[^{}]|\{\w+\})*))?\}")


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format_map(_Blank(params))
    except (ValueError, TypeError, KeyError, IndexError):
        # a format spec that does not fit one value (None or text with :.2f): that value
        # plainly, the others formatted as the template says
        return _FIELD.sub(lambda m: _one(m.group(1), m.group(2) or "", params), template)


def _one(name: str, spec: str, params: dict[str, Any]) -> str:
    value = params.get(name)
    if value is None:
        return "?"
    spec = re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "")), spec)
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)


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

    ``expected``, ``actual`` and ``tolerance`` are also offered to the template, with
    ``diff`` = |actual − expected| where both are numbers (unless given), ``at`` the cell
    of a located place (``（户!F5）``, else empty), ``unit`` (empty) and ``digits`` (2).
    The message does not repeat the code: every report shows ``code`` beside it.
    """
    rule = CATALOGUE[code]
    params = {k: _clean(v) for k, v in params.items()}
    if place is not None:
        place = Place(**{k: _clean(v) for k, v in place.as_dict().items()})
    values = {"expected": expected, "actual": actual, "tolerance": tolerance, "unit": "", "digits": 2, **params}
    if "diff" not in params and _is_number(expected) and _is_number(actual):
        values["diff"] = abs(float(actual) - float(expected))  # type: ignore[arg-type]
    values.setdefault("at", f"（{place.cell}）" if place is not None and place.cell else "")
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
        message=_fill(rule.template, values),  # the code is the finding's own field, not in its message
        object=place or Place(),
        expected=expected,
        actual=actual,
        tolerance=tolerance,
        location=location,
        local=local,
    )


def _is_number(value: Any) -> bool:
    if isinstance(value, (bool, str)) or value is None:
        return False
    try:
        f = float(value)
    except (TypeError, ValueError):
        return False
    return f == f and f not in (float("inf"), float("-inf"))


# ---------------------------------------------------------------- docs/rules.md


def markdown() -> str:
    """The rule catalogue as docs/rules.md: every code by survey, with its severity, title,
    message, basis and fix, from :data:`CATALOGUE` (``python -m schemas.catalogue --markdown``;
    a test holds the committed file equal to this)."""
    lines = [
        "# 规则目录（rule catalogue）",
        "",
        "<!-- generated by `python -m schemas.catalogue --markdown > docs/rules.md`; do not edit by hand -->",
        "",
        f"规则集版本 {RULESET_VERSION}，共 {len(CATALOGUE)} 条规则。每条规则有固定代码，代码不改名、不复用。"
        "级别为默认值，城市配置（profile）可改为 error / warning / off，并调整标注 (cfg) 的限差；"
        "容缺事项由城市配置列出（见 docs/results.md）。",
        "",
        "消息模板中的 `{…}` 在检查时填入数值与位置；报表单元格的问题在消息末尾注明表头原文与单元格（如 `户!F5`）。",
        "",
    ]
    for domain, name in DOMAIN_NAMES.items():
        rules = [r for r in CATALOGUE.values() if r.domain == domain]
        if not rules:
            continue
        lines += [f"## {name}（{domain}）", ""]
        for r in rules:
            lines += [
                f"### {r.code} {r.title}",
                "",
                f"- 级别：{_SEVERITY_NAMES.get(r.severity, r.severity)}（{r.severity}）",
                f"- 消息：{_md(r.template)}",
                f"- 依据：{_md(r.basis)}",
                f"- 修改方法：{_md(r.fix)}",
                "",
            ]
    return "\n".join(lines)


_SEVERITY_NAMES = {"error": "错误", "warning": "警告", "info": "提示"}


def _md(text: str) -> str:
    """Text as markdown shows it literally: braces kept, markup characters escaped."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("|", "\\|").replace("<", "&lt;")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--markdown"]:
        print("用法：python -m schemas.catalogue --markdown > docs/rules.md", file=sys.stderr)
        raise SystemExit(2)
    sys.stdout.write(markdown())
