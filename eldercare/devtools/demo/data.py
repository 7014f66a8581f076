"""The demo's fixed data: the password every demo account has, names, the accounts, the
facilities, where the people live and what visitors write."""

DEMO_PASSWORD = "Eldercare2026"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN_M = [
    "建国",
    "建华",
    "国强",
    "志强",
    "德明",
    "振华",
    "文华",
    "永福",
    "福来",
    "长林",
    "春生",
    "玉林",
    "宝山",
    "有才",
    "满仓",
    "树林",
    "富贵",
    "明亮",
    "秀峰",
    "新民",
    "金山",
    "庆华",
    "桂生",
    "忠义",
]
GIVEN_F = [
    "秀英",
    "桂英",
    "玉兰",
    "秀兰",
    "凤英",
    "淑珍",
    "桂兰",
    "玉珍",
    "秀珍",
    "兰英",
    "素芳",
    "翠花",
    "金花",
    "月娥",
    "彩霞",
    "美兰",
    "春梅",
    "爱莲",
    "巧云",
    "玉梅",
    "冬梅",
    "桂芳",
    "淑英",
    "秀云",
]

USERS = [
    # username, display name, role, region code or facility key
    ("admin", "系统管理员", "admin", None),
    ("county", "渭滨区民政局 王科长", "county_staff", "610302000000"),
    ("county2", "陈仓区民政局 李科长", "county_staff", "610304000000"),
    # A second officer of 渭滨区: subsidy batches are approved by someone other than the maker.
    ("checker", "渭滨区民政局 陈会计", "county_staff", "610302000000"),
    ("township", "马营镇民政办 张干事", "township_staff", "610302006000"),
    ("visitor", "马营东村 赵探访员", "visitor", "610302006201"),
    ("operator", "渭滨区社会福利院 刘院长", "operator", "welfare"),
    ("daycare", "经二路日间照料中心 孙主任", "operator", "jingerlu"),
    ("family", "家属 陈女士", "family", None),
    # A third-party rating assessor of 渭滨区 (the demo has no round to appoint it to yet).
    ("assessor", "宝鸡市养老服务评估中心 郑评估师", "assessor", "610302000000"),
]

FACILITIES = [
    ("welfare", "宝鸡市渭滨区社会福利院", "nursing_home", "public", "610302001000", "经二路12号"),
    (None, "马营镇敬老院", "township_home", "public", "610302006000", "马营镇政府东侧"),
    (None, "渭滨区颐养园养老中心", "nursing_home", "private", "610302002000", "清姜路88号"),
    (
        "jingerlu",
        "经二路街道日间照料中心",
        "day_care",
        "public_built_private_run",
        "610302001000",
        "经二路社区服务楼",
    ),
    (None, "马营东村农村幸福院", "happiness_home", "public", "610302006201", "马营东村村委会旁"),
    (
        None,
        "清姜街道社区养老服务站",
        "community_station",
        "public_built_private_run",
        "610302002000",
        "清姜街道新华社区",
    ),
    (
        None,
        "宝鸡康乐居家养老服务有限公司",
        "home_care_provider",
        "private",
        "610302003000",
        "姜谭路15号",
    ),
    (None, "陈仓区中心敬老院", "township_home", "public", "610304001000", "虢镇街道"),
    (None, "陈仓区福康养老院", "nursing_home", "private", "610304004000", "阳平镇"),
    (None, "金台区社会福利中心", "nursing_home", "public", "610303002000", "西关街道"),
    (None, "凤翔区糜杆桥镇敬老院", "township_home", "public", "610305006000", "糜杆桥镇"),
    (None, "岐山县蔡家坡日间照料中心", "day_care", "public", "610323002000", "蔡家坡镇"),
]

# Where the demo people live: most in 渭滨区, the rest in neighbouring counties.
PEOPLE_COUNTIES = [("610302", 0.55), ("610304", 0.2), ("610303", 0.15), ("610305", 0.1)]

DEMO_VISIT_NOTES = [
    "老人身体状况良好，家中整洁，已提醒按时服药。",
    "电话联系，老人精神尚可，子女每周来电。",
    "屋内电线老化，已告知村委会安排检修。",
    "老人反映腿脚不便，建议申请助浴服务。",
    "天气转冷，已检查取暖设施，叮嘱注意防滑。",
    "",
]
