"""What the front door says to citizens, in English, 中文 and Polski.

Every refusal is a `CitizenError` with a stable code and a message key; the API puts the
message in the request's language. Promises ("we will answer by Friday 11 December") are
written with Babel's CLDR data in the city's time zone.
"""

# ruff: noqa: RUF001 -- full-width Chinese punctuation is what Chinese readers expect.
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from cityos.governance.config import LANGUAGES

MESSAGES: dict[str, dict[str, str]] = {
    "bad_category": {
        "en": "Please choose one of the listed categories.",
        "zh": "请从列出的类别中选择一项。",
        "pl": "Wybierz jedną z wymienionych kategorii.",
    },
    "no_place": {
        "en": "Please pick the place on the map, use your location, or give an address.",
        "zh": "请在地图上选择地点、使用您的位置或填写地址。",
        "pl": "Wskaż miejsce na mapie, użyj swojej lokalizacji albo podaj adres.",
    },
    "bad_place": {
        "en": "The place is not a valid latitude and longitude.",
        "zh": "地点不是有效的纬度和经度。",
        "pl": "Miejsce nie jest poprawną szerokością i długością geograficzną.",
    },
    "too_long": {
        "en": "The description is longer than {limit} characters.",
        "zh": "描述超过了 {limit} 个字符。",
        "pl": "Opis jest dłuższy niż {limit} znaków.",
    },
    "bad_answer": {
        "en": "Please check your answer to: {question}",
        "zh": "请检查您对以下问题的回答：{question}",
        "pl": "Sprawdź odpowiedź na pytanie: {question}",
    },
    "bad_email": {
        "en": "The e-mail address does not look right.",
        "zh": "电子邮件地址格式不正确。",
        "pl": "Adres e-mail wygląda na niepoprawny.",
    },
    "refused": {
        "en": "The report could not be accepted.",
        "zh": "无法接受此报告。",
        "pl": "Nie można przyjąć zgłoszenia.",
    },
    "bad_form": {
        "en": "The form could not be read; please send it again.",
        "zh": "无法读取表单，请重新提交。",
        "pl": "Nie udało się odczytać formularza; wyślij go ponownie.",
    },
    "too_many_photos": {
        "en": "A report holds at most {most} photos.",
        "zh": "每份报告最多 {most} 张照片。",
        "pl": "Zgłoszenie może mieć najwyżej {most} zdjęcia.",
    },
    "photo_type": {
        "en": "Photos must be JPEG, PNG or WebP images.",
        "zh": "照片必须是 JPEG、PNG 或 WebP 图像。",
        "pl": "Zdjęcia muszą być obrazami JPEG, PNG lub WebP.",
    },
    "photo_size": {
        "en": "A photo may be at most {mb} MB.",
        "zh": "每张照片最大 {mb} MB。",
        "pl": "Zdjęcie może mieć najwyżej {mb} MB.",
    },
    "body_size": {
        "en": "The report is too large; send smaller photos.",
        "zh": "报告过大，请发送较小的照片。",
        "pl": "Zgłoszenie jest za duże; wyślij mniejsze zdjęcia.",
    },
    "no_photos": {
        "en": "This city does not keep photos.",
        "zh": "本市不保存照片。",
        "pl": "To miasto nie przechowuje zdjęć.",
    },
    "not_found": {
        "en": "There is no report {reference}.",
        "zh": "没有编号为 {reference} 的报告。",
        "pl": "Nie ma zgłoszenia {reference}.",
    },
    "no_media": {
        "en": "There is no such photo.",
        "zh": "没有这张照片。",
        "pl": "Nie ma takiego zdjęcia.",
    },
    "finished": {
        "en": "Report {reference} is already finished.",
        "zh": "报告 {reference} 已经结束。",
        "pl": "Zgłoszenie {reference} jest już zakończone.",
    },
    "bad_token": {
        "en": "This link or token does not belong to the report.",
        "zh": "此链接或令牌不属于该报告。",
        "pl": "Ten link lub token nie należy do zgłoszenia.",
    },
    "too_many_requests": {
        "en": "Too many reports from your address; please try again in {seconds} seconds.",
        "zh": "您的地址提交过多，请在 {seconds} 秒后重试。",
        "pl": "Zbyt wiele zgłoszeń z Twojego adresu; spróbuj ponownie za {seconds} s.",
    },
    "bad_query": {
        "en": "Please check the search: {detail}",
        "zh": "请检查查询：{detail}",
        "pl": "Sprawdź wyszukiwanie: {detail}",
    },
    "unsubscribed": {
        "en": "You will get no more e-mails about report {reference}.",
        "zh": "您将不再收到关于报告 {reference} 的电子邮件。",
        "pl": "Nie będziesz już dostawać e-maili o zgłoszeniu {reference}.",
    },
    "promise": {
        "en": "We will answer by {day}.",
        "zh": "我们将在{day}前答复。",
        "pl": "Odpowiemy najpóźniej: {day}.",
    },
    "deadline_text": {
        "en": "We answer within {days} days.",
        "zh": "我们将在 {days} 天内答复。",
        "pl": "Odpowiadamy w ciągu {days} dni.",
    },
    "mail_subject": {
        "en": "Your report {reference}: {state}",
        "zh": "您的报告 {reference}：{state}",
        "pl": "Twoje zgłoszenie {reference}: {state}",
    },
    "mail_body": {
        "en": "Report {reference} is now: {state}.\n{note}\nFollow it: {link}\n\n"
        "To get no more e-mails about this report: {unsubscribe}\n",
        "zh": "报告 {reference} 现在的状态：{state}。\n{note}\n查看进展：{link}\n\n"
        "不再接收此报告的邮件：{unsubscribe}\n",
        "pl": "Zgłoszenie {reference} ma teraz stan: {state}.\n{note}\nŚledź je: {link}\n\n"
        "Aby nie dostawać więcej e-maili o tym zgłoszeniu: {unsubscribe}\n",
    },
}

STATES: dict[str, dict[str, str]] = {
    "reported": {"en": "reported", "zh": "已上报", "pl": "zgłoszone"},
    "accepted": {"en": "accepted", "zh": "已受理", "pl": "przyjęte"},
    "rejected": {"en": "rejected", "zh": "未受理", "pl": "odrzucone"},
    "merged": {"en": "merged with another report", "zh": "已合并", "pl": "połączone z innym"},
    "dispatched": {"en": "sent to the department", "zh": "已派遣", "pl": "przekazane do wydziału"},
    "in_progress": {"en": "being fixed", "zh": "处理中", "pl": "w naprawie"},
    "resolved": {"en": "fixed", "zh": "已处置", "pl": "naprawione"},
    "verified": {"en": "fixed and checked", "zh": "已核查", "pl": "naprawione i sprawdzone"},
    "closed": {"en": "closed", "zh": "已结案", "pl": "zamknięte"},
}

_BABEL = {"en": "en_GB", "zh": "zh_Hans_CN", "pl": "pl_PL"}
_DAY = {"en": "EEEE d MMMM", "zh": "M月d日EEEE", "pl": "EEEE, d MMMM"}


class CitizenError(Exception):
    """A refusal, said to the citizen in their language: HTTP status, stable code, message."""

    def __init__(self, status: int, code: str, key: str, **params: object) -> None:
        super().__init__(key)
        self.status, self.code, self.key, self.params = status, code, key, params
        self.retry_after: int | None = None

    def message(self, language: str) -> str:
        return say(self.key, language, **self.params)


def say(key: str, language: str, **params: object) -> str:
    texts = MESSAGES[key]
    return (texts.get(language) or texts["en"]).format(**params)


def state_name(state: str, language: str) -> str:
    return STATES.get(state, {}).get(language, state)


def language_of(query: str | None, accept_language: str | None) -> str:
    """`?lang=` wins, then the first of Accept-Language's languages we speak, then English."""
    if query and query[:2].lower() in LANGUAGES:
        return query[:2].lower()
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        lang = tag.strip()[:2].lower()
        if lang in LANGUAGES and quality > 0:
            ranked.append((-quality, i, lang))
    return sorted(ranked)[0][2] if ranked else "en"


def promise(deadline: datetime, timezone: str, language: str) -> str:
    """ "We will answer by Friday 11 December.", the deadline's day where the city is."""
    local = deadline.astimezone(ZoneInfo(timezone))
    day = format_date(local.date(), _DAY[language], locale=_BABEL[language])
    return say("promise", language, day=day)
