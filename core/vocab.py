"""Closed vocabularies of the claims contract and the catalog format."""

from __future__ import annotations

#: The subsidy kinds (training modes of main.2); each is declared once in :mod:`jinhua_subsidy.kinds`.
KINDS = ("qualification", "project", "apprenticeship", "entrepreneurship")
#: R5: 1 = 一级/高级技师 … 5 = 五级/初级工; S = 专项职业能力证书.
LEVELS = ("1", "2", "3", "4", "5", "S")
LEVEL_NAMES = {
    "1": "一级/高级技师",
    "2": "二级/技师",
    "3": "三级/高级工",
    "4": "四级/中级工",
    "5": "五级/初级工",
    "S": "专项职业能力证书",
}
ORGANIZERS = ("enterprise", "department", "institution", "college")
ORGANIZER_NAMES = {
    "enterprise": "企业",
    "department": "行业主管部门",
    "institution": "培训机构",
    "college": "职业院校",
}
ORGANIZER_LEVELS = ("city", "district")
APPRENTICES = ("employee", "student")
APPRENTICE_NAMES = {"employee": "职工学徒", "student": "学生学徒"}
EMPLOYER_TAGS = ("trade_friction", "key_manufacturing", "city_soe", "self_evaluation")
TAG_NAMES = {
    "trade_friction": "受经贸摩擦影响企业",
    "key_manufacturing": "制造业重点细分行业企业",
    "city_soe": "市属国有企业",
    "self_evaluation": "开展技能人才自主评价的企业",
}
PAYEES = ("person", "employer", "organizer")
KIND_NAMES = {
    "qualification": "职业资格培训补贴",
    "project": "项目制培训补贴",
    "apprenticeship": "企业新型学徒制补贴",
    "entrepreneurship": "创业培训补贴",
}
#: Eligibility tests a catalog may combine (any one that holds makes a person eligible).
GROUND_TESTS = ("hukou", "residence_permit", "insured", "unemployed", "welfare_post", "no_pension", "group")
GROUND_NAMES = {
    "hukou": "具有本地户籍且未按月领取养老金",
    "residence_permit": "本地常住并办有居住证",
    "insured": "在本地参加社会保险并缴费满规定月数",
    "unemployed": "在本地办理失业登记",
    "welfare_post": "政府公益性岗位从业人员，放宽条件经区人力社保局审批并报市局备案",
    "no_pension": "确有培训需求、不具有按月领取养老金资格的人员",
    "group": "属于本地纳入政策范围的重点群体",
}
#: The target groups of main.2 (column ``groups``), one key each.
GROUPS = {
    "rural_migrant": "农村转移就业劳动者",
    "lianghou_rural": "“两后生”中的农村学员",
    "lianghou_urban_dibao": "“两后生”中的城市低保家庭学员",
    "lianghou": "其他“两后生”（城乡未继续升学的初高中毕业生）",
    "unemployed": "失业人员",
    "veteran": "退役军人",
    "hard_to_employ": "就业困难人员（含残疾人）",
    "graduate": "有培训需求的高校毕业生",
    "farmer": "职业农民",
    "poverty_household": "建档立卡低收入农户家庭劳动力",
    "zero_employment_family": "零就业家庭成员",
}
#: The groups main.4.2 gives a living allowance (生活费补贴, R25).
ALLOWANCE_GROUPS = ("poverty_household", "hard_to_employ", "zero_employment_family", "lianghou_rural",
                    "lianghou_urban_dibao")
UPLIFT_CONDITIONS = ("shortage", "employer_tag")
STATUSES = ("official", "provisional")
