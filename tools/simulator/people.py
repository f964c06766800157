"""Made-up applicants with identifiers that pass intake's checks (python-stdnum check digits,
phonenumbers' mainland mobile ranges). Seeded: the same seed gives the same people."""

from __future__ import annotations

import random
from datetime import date, timedelta

from stdnum.cn import ric, uscc

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅兰玉春晓燕志鹏辉海波宁俊斌浩凯文博雪晨欣怡宇航佳琪子涵梓轩思远"
# Division codes python-stdnum knows for every birth year 1950-2004 (checked by tests/report).
AREAS = ("110101", "110102", "110105", "110108", "310101", "310104", "360121", "360122")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "153", "155", "157", "158", "159", "177", "180", "181", "182", "183", "186", "187",
                   "188", "189", "198")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
COMPANY_WORDS = ("青山", "绿源", "恒达", "鑫盛", "华兴", "宏远", "富民", "康泰", "兴农", "天成", "瑞丰", "金桥")
COMPANY_KINDS = ("农业发展有限公司", "建筑工程有限公司", "商贸有限公司", "食品有限公司", "运输有限公司",
                 "农民专业合作社", "科技有限公司", "餐饮管理有限公司", "医药连锁有限公司", "旅游开发有限公司")


class People:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._mobiles: set[str] = set()

    def name(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def resident_id(self) -> str:
        r = self.rng
        born = date(1950, 1, 1) + timedelta(days=r.randrange(365 * 54))
        body = f"{r.choice(AREAS)}{born:%Y%m%d}{r.randrange(1000):03d}"
        return body + ric.calc_check_digit(body + "0")  # the function skips the last character

    def mobile(self) -> str:
        """A mobile number not handed out before by this generator (the benchmark matches SMS
        to applications by it)."""
        while True:
            m = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if m not in self._mobiles:
                self._mobiles.add(m)
                return m

    def credit_code(self) -> str:
        body = "91" + self.rng.choice(AREAS) + "".join(self.rng.choice(USCC_CHARS) for _ in range(9))
        return body + uscc.calc_check_digit(body)

    def applicant(self, company_share: float = 0.3) -> dict[str, str]:
        """An applicant as intake's API takes it (``ApplicantIn``)."""
        if self.rng.random() < company_share:
            return {"type": "company", "name": self.name(), "mobile": self.mobile(),
                    "company_name": "青山县" + self.rng.choice(COMPANY_WORDS) + self.rng.choice(COMPANY_KINDS),
                    "credit_code": self.credit_code()}
        return {"type": "person", "name": self.name(), "mobile": self.mobile(), "resident_id": self.resident_id()}
