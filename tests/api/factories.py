"""Valid demand payloads to start tests from."""

from typing import Any


def demand_payload(**overrides: Any) -> dict[str, Any]:
    """A complete, valid submission; keyword arguments replace or add fields."""
    payload: dict[str, Any] = {
        "org_name": "福建省闽光新材料科技有限公司",
        "main_business": "聚氨酯弹性体及改性工程塑料研发生产",
        "contact_name": "林晓峰",
        "mobile": "13805912345",
        "office_phone": "0591-87654321",
        "fax": "0591-87654322",
        "email": "rd@minguang.example.com",
        "website": "www.minguang.example.com",
        "address": "福建省福州市鼓楼区五四路128号",
        "postcode": "350001",
        "title": "耐水解聚氨酯弹性体配方开发",
        "description": (
            "现有聚酯型聚氨酯弹性体在85℃、85%湿度下老化500小时后拉伸强度下降40%，希望开发耐水解配方。"
        ),
        "company_profile": "公司成立于2009年，员工210人，省级企业技术中心。",
        "industry_code": "C2651",
        "discipline_code": "15045",
        "keywords": ["聚氨酯", "耐水解", "弹性体"],
        "cooperation_mode": "技术开发",
        "budget_wan": 80,
        "deadline": "2027-12-31",
    }
    payload.update(overrides)
    return payload
