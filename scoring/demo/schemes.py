"""The demo's marking schemes (评分细则): hand-written ones for 焊工 (T001), 电工 (T002) and 拉面师
(T087), and for every other trade one generated from an archetype chosen by its industry or
name (manufacturing, electrical, service and cooking, digital, construction). Each totals
exactly 100.00 and passes the same checks as an imported scheme. Written in one transaction
of a few statements; trades that already have a scheme are skipped.
"""

from __future__ import annotations

from competition.audit import SYSTEM
from competition.db import transaction
from competition.tables import Trade
from scoring.schemes import service
from scoring.schemes.rules import AspectDraft, CriterionDraft, Deduction, SchemeDraft
from scoring.tables import MarkingScheme

M, J = "measurement", "judgement"


def levels(topic: str) -> list[str]:
    return [
        f"{topic}存在明显缺陷，未达到行业标准",
        f"{topic}达到行业标准",
        f"{topic}良好，部分超出行业标准",
        f"{topic}优秀，全面超出行业标准",
    ]


# A criterion: (code, name, aspects); an aspect: (description, kind, marks, extra), where extra
# is the deduction steps [(label, marks)] of a Measurement aspect or the four descriptors of a
# Judgement aspect (a str: the topic for `levels`), and "!" in front of the description asks
# for a second person's verification.
Spec = list[tuple[str, str, list[tuple[str, str, float, object]]]]

WELDING: Spec = [
    ("A", "安全文明生产", [
        ("劳动防护用品（面罩、焊工手套、阻燃服）穿戴齐全", M, 3, [("每缺一件", 1)]),
        ("焊前检查设备接地与作业区防火", M, 2, []),
        ("工位整洁，焊条头与废料归位", M, 2, [("每处乱放", 0.5)]),
    ]),
    ("B", "板对接焊缝（V形坡口，横焊）", [
        ("!焊缝余高0–3 mm", M, 10, [("每处超差", 2)]),
        ("!焊缝宽度差≤2 mm", M, 8, [("每处超差", 2)]),
        ("!咬边深度≤0.5 mm，累计长度≤15 mm", M, 10, [("每处咬边", 1), ("累计超长", 4)]),
        ("!无裂纹、未熔合、夹渣、气孔", M, 12, [("每个气孔", 3), ("每处夹渣", 4)]),
        ("背面成形：无未焊透、凹陷", M, 8, [("每处未焊透", 4)]),
        ("焊缝外观成形", J, 7, ["焊缝成形差，高低宽窄明显不均", "成形基本均匀，有少量不均",
                            "成形均匀，鱼鳞纹清晰", "成形美观，鱼鳞纹细密一致，堪称样板"]),
    ]),
    ("C", "管对接焊缝（水平固定）", [
        ("!焊缝余高与宽度符合图纸", M, 10, [("每处超差", 2)]),
        ("!通球试验通过", M, 8, []),
        ("!射线探伤达到Ⅱ级", M, 10, []),
        ("接头与收弧处理", J, 5, "接头与收弧"),
    ]),
    ("D", "焊接工艺", [
        ("焊接参数选择与记录", J, 5, "参数选择与记录"),
    ]),
]  # fmt: skip

ELECTRICIAN: Spec = [
    ("A", "安全操作", [
        ("停电、验电、挂牌上锁操作规范", M, 6, [("每漏一步", 2)]),
        ("绝缘工具与仪表使用正确", M, 4, [("每次错误", 1)]),
    ]),
    ("B", "电气控制线路安装", [
        ("!按图接线，线路功能正确（通电一次成功）", M, 20, [("二次通电", 5), ("三次通电", 10)]),
        ("元件布置合理、固定牢靠", M, 6, [("每处松动", 1)]),
        ("导线压接、线号与走线工艺", J, 8, ["压接松动，线号缺失，走线杂乱",
                                         "压接可靠，线号基本齐全",
                                         "压接规范，线号齐全，走线横平竖直",
                                         "工艺精湛，布线美观，可作示范"]),
        ("!绝缘电阻≥0.5 MΩ", M, 6, []),
    ]),
    ("C", "PLC与变频器应用", [
        ("I/O分配与程序编写", M, 14, [("每项功能缺失", 2)]),
        ("变频器参数设置", M, 8, [("每项参数错误", 1)]),
        ("程序结构与注释", J, 6, "程序结构与注释"),
    ]),
    ("D", "故障排除", [
        ("!找出并排除设定故障（3处）", M, 15, [("每处未排除", 5)]),
        ("故障分析思路与记录", J, 7, "分析思路与记录"),
    ]),
]  # fmt: skip

NOODLES: Spec = [
    ("A", "和面", [
        ("面粉、水、蓬灰配比符合工艺要求", M, 6, [("每项偏差", 2)]),
        ("面团软硬适度、光滑不粘手", J, 8, ["面团过软或过硬，表面粗糙粘手",
                                         "软硬基本适度，表面较光",
                                         "软硬适度，光滑有筋性",
                                         "软硬恰到好处，光滑柔韧，筋道十足"]),
        ("醒面时间与揉面手法", J, 6, "醒面与揉面手法"),
    ]),
    ("B", "拉面", [
        ("!拉出毛细、二细、韭叶、宽面四种面型", M, 12, [("每缺一种", 3)]),
        ("拉面手法熟练、动作规范", J, 10, ["手法生疏，多次断面", "手法基本熟练，偶有断面",
                                       "手法熟练流畅，无断面", "手法娴熟优美，一气呵成"]),
        ("!断条数", M, 6, [("每断一根", 1)]),
    ]),
    ("C", "形态", [
        ("面条粗细均匀、圆润", J, 10, ["粗细明显不匀", "粗细基本均匀", "粗细均匀，圆润光滑",
                                    "粗细一致如线，圆润透亮"]),
        ("汤清、肉烂、萝卜白、辣子红、香菜绿（一清二白三红四绿）", J, 8, "“一清二白三红四绿”"),
    ]),
    ("D", "口味", [
        ("汤汁鲜香醇厚", J, 10, ["汤味寡淡或有异味", "汤味较鲜", "汤汁鲜香",
                                   "汤汁鲜香醇厚，回味悠长"]),
        ("面条口感爽滑筋道", J, 8, "面条口感"),
    ]),
    ("E", "卫生", [
        ("个人卫生（工作服帽、洗手、不留指甲）", M, 4, [("每项不符", 1)]),
        ("操作台与器具清洁，生熟分开", M, 4, [("每处不符", 1)]),
    ]),
    ("F", "用时", [
        ("!在规定时间（20分钟）内完成", M, 8, [("每超时1分钟", 2)]),
    ]),
]  # fmt: skip

MANUFACTURING: Spec = [
    ("A", "安全文明生产", [
        ("劳动防护用品穿戴齐全", M, 3, [("每缺一件", 1)]),
        ("设备、工量具使用与保养规范", M, 4, [("每次违规", 1)]),
        ("工位整洁，废料分类处置", M, 3, [("每处不符", 1)]),
    ]),
    ("B", "工件加工质量", [
        ("!主要尺寸精度符合图纸", M, 30, [("每处超差", 3)]),
        ("!形位公差符合图纸", M, 15, [("每项超差", 3)]),
        ("表面粗糙度符合要求", M, 10, [("每处不符", 2)]),
    ]),
    ("C", "工艺与操作", [
        ("工艺路线与加工方法合理", J, 10, "工艺路线"),
        ("操作熟练程度", J, 10, "操作熟练程度"),
    ]),
    ("D", "作品整体", [
        ("作品完整度", M, 8, [("每缺一项", 2)]),
        ("作品外观与工艺水平", J, 7, "作品外观"),
    ]),
]  # fmt: skip

ELECTRICAL: Spec = [
    ("A", "安全规程", [
        ("停送电与验电操作规范", M, 6, [("每漏一步", 2)]),
        ("个人防护与安全工器具使用", M, 4, [("每项不符", 1)]),
    ]),
    ("B", "安装与接线", [
        ("!接线正确，一次通电成功", M, 20, [("二次通电", 5)]),
        ("设备安装牢固、布置合理", M, 10, [("每处不符", 2)]),
        ("安装工艺", J, 10, "安装工艺"),
    ]),
    ("C", "运行与调试", [
        ("!参数设置与调试结果正确", M, 15, [("每项错误", 3)]),
        ("运行监视与记录", M, 10, [("每处漏记", 1)]),
    ]),
    ("D", "故障处理", [
        ("!找出并排除设定故障", M, 15, [("每处未排除", 5)]),
        ("故障分析与处理思路", J, 10, "分析与处理思路"),
    ]),
]  # fmt: skip

SERVICE: Spec = [
    ("A", "职业素养", [
        ("仪容仪表与职业着装", M, 5, [("每项不符", 1)]),
        ("礼貌用语与沟通", J, 5, "沟通与礼仪"),
    ]),
    ("B", "操作规范", [
        ("操作流程完整、顺序正确", M, 20, [("每漏一步", 2), ("顺序错误", 1)]),
        ("!卫生与安全要求", M, 10, [("每处不符", 2)]),
        ("操作熟练程度", J, 10, "操作熟练程度"),
    ]),
    ("C", "作品或服务效果", [
        ("作品（服务）质量", J, 20, "作品（服务）质量"),
        ("创意与整体效果", J, 15, "创意与整体效果"),
    ]),
    ("D", "时间与整理", [
        ("!在规定时间内完成", M, 10, [("每超时1分钟", 1)]),
        ("操作后整理复位", M, 5, [("每处未复位", 1)]),
    ]),
]  # fmt: skip

DIGITAL: Spec = [
    ("A", "需求分析与设计", [
        ("需求理解与方案设计", J, 10, "方案设计"),
        ("文档规范完整", M, 5, [("每缺一项", 1)]),
    ]),
    ("B", "功能实现", [
        ("!必做功能全部实现", M, 35, [("每项功能缺失", 5)]),
        ("!测试用例通过率", M, 15, [("每个用例未通过", 1)]),
        ("选做功能", M, 10, [("每项未完成", 5)]),
    ]),
    ("C", "质量与安全", [
        ("代码（配置）规范与可读性", J, 10, "代码规范"),
        ("安全与数据保护措施", M, 5, [("每项缺失", 1)]),
    ]),
    ("D", "展示与答辩", [
        ("成果展示与答辩", J, 10, "展示与答辩"),
    ]),
]  # fmt: skip

CONSTRUCTION: Spec = [
    ("A", "施工准备与安全", [
        ("安全帽、安全带等防护用品使用", M, 5, [("每项不符", 1)]),
        ("材料、工具准备与放线", M, 5, [("每项不符", 1)]),
    ]),
    ("B", "施工质量", [
        ("!轴线、标高偏差符合规范", M, 20, [("每处超差", 2)]),
        ("!垂直度、平整度符合规范", M, 20, [("每处超差", 2)]),
        ("构造与节点做法正确", M, 15, [("每处错误", 3)]),
    ]),
    ("C", "工艺与观感", [
        ("整体观感质量", J, 15, "观感质量"),
        ("施工工艺与操作熟练程度", J, 10, "施工工艺"),
    ]),
    ("D", "文明施工", [
        ("工完场清，材料节约", M, 5, [("每处不符", 1)]),
        ("!在规定时间内完成", M, 5, [("每超时5分钟", 1)]),
    ]),
]  # fmt: skip

HAND_WRITTEN = {"T001": WELDING, "T002": ELECTRICIAN, "T087": NOODLES}
BY_INDUSTRY = {
    "ZBZZ": MANUFACTURING, "YSYJ": MANUFACTURING, "NYHG": MANUFACTURING,
    "JTYS": MANUFACTURING, "YHHG": MANUFACTURING, "NMLS": MANUFACTURING,
    "DLJS": ELECTRICAL, "QJNY": ELECTRICAL,
    "XXJS": DIGITAL, "SMFW": DIGITAL, "JRTX": DIGITAL,
    "JZJC": CONSTRUCTION, "STHB": CONSTRUCTION, "GGAQ": CONSTRUCTION,
}  # fmt: skip
# Names that say more than the industry: an elevator fitter in a service industry.
BY_NAME = (("安装维修", ELECTRICAL), ("电", ELECTRICAL), ("烹调", SERVICE), ("程序", DIGITAL))


def archetype(code: str, name: str, industry: str) -> Spec:
    if code in HAND_WRITTEN:
        return HAND_WRITTEN[code]
    for word, spec in BY_NAME:
        if word in name:
            return spec
    return BY_INDUSTRY.get(industry, SERVICE)


def draft_of(spec: Spec) -> SchemeDraft:
    draft = SchemeDraft()
    for code, name, aspects in spec:
        draft.criteria.append(CriterionDraft(code, name))
        for n, (description, kind, marks, extra) in enumerate(aspects, start=1):
            verify = description.startswith("!")
            description = description.removeprefix("!")
            hundredths = round(marks * 100)
            if kind == J:
                descriptors = levels(extra) if isinstance(extra, str) else list(extra)  # type: ignore[arg-type]
                deductions: list[Deduction] = []
            else:
                descriptors = []
                deductions = [Deduction(label, round(v * 100)) for label, v in extra]  # type: ignore[union-attr]
            draft.aspects.append(
                AspectDraft(
                    criterion=code, code=f"{code}{n}", description=description, kind=kind,
                    max_hundredths=hundredths, judges_needed=3 if kind == J else 2,
                    needs_verification=verify, deductions=deductions, descriptors=descriptors,
                )
            )  # fmt: skip
    return draft


async def load_demo_schemes(competition_id: int) -> int:
    """A scheme for every trade of the demo without one; returns the records written."""
    trades = (
        await Trade.select(Trade.id, Trade.code, Trade.name, Trade.industry.code)
        .where(Trade.competition == competition_id)
        .order_by(Trade.code)
    )
    have = {
        r["trade"]
        for r in await MarkingScheme.select(MarkingScheme.trade).where(
            MarkingScheme.trade.competition == competition_id
        )
    }
    todo = [t for t in trades if t["id"] not in have]
    if not todo:
        return 0
    drafts = [draft_of(archetype(t["code"], t["name"], t["industry.code"])) for t in todo]
    async with transaction():
        await service.store_drafts(
            [(t["id"], t["code"], competition_id) for t in todo], drafts, actor=SYSTEM,
            source="demo",
        )  # fmt: skip
    return sum(1 + len(d.criteria) + len(d.aspects) for d in drafts)
