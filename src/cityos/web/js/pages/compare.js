/**
 * Compare cities (#/compare?cities=a,b,c): the indicator catalogue's values for the chosen
 * cities side by side, from GET /indicators (which cities have values) and
 * GET /indicators/compare?cities=… (the table, its sources and the theme scores).
 *
 * - The chooser: a checkbox per city; the choice lives in the URL hash, so a link
 *   reproduces it (no `cities` in the hash: the default four).
 * - The table: a row per indicator (and basis, when the row is on one), a column per city;
 *   each value with its unit, year, rank badge (1 = best among the cities that have it)
 *   and citation markers [n] pointing into the numbered sources under the table. A missing
 *   value reads "missing": never blank, never 0. The API's note is the cell's tooltip.
 * - Charts: the theme scores (each city's mean share of the best per theme) as a radar from
 *   three scored themes on, else as grouped bars; then a small bar chart per ranked
 *   indicator, its missing cities labelled "missing".
 *
 * Names come from the catalogue (English); this page's strings add Chinese ones for the
 * packaged indicators, themes, units and cities, with the catalogue's text as the fallback.
 */

import { has, locale, t } from "../i18n.js";
import { el, fmtNumber, problemText, replace, tOr } from "../ui.js";

export const id = "compare";
export const titleKey = "compare.nav";

/** The cities compared when the hash names none. */
const DEFAULT_CITIES = ["chongqing", "london"];
/** The themes shown when the hash names none: transport and education side by side. */
const DEFAULT_THEMES = ["transportation", "education"];
/** A source object as the key of its number. */
const sourceKey = (source) => JSON.stringify(source);
/** A source as a bibliography entry: publisher. “title”. year. address. */
const sourceText = (source) => (typeof source === "string" ? source
  : [source.publisher, source.title ? `“${source.title}”` : "", source.published, source.url].filter(Boolean).join(". "));
/** A radar needs this many scored themes to be a shape; fewer are drawn as bars. */
const RADAR_MIN_THEMES = 3;
const RADAR_HEIGHT = "340px";
/** Values from this size on are written compactly (7.46M, 3.01T); the tooltip has them whole. */
const COMPACT_FROM = 1e6;

export const strings = {
  en: {
    "compare.title": "Compare cities",
    "compare.nav": "Compare",
    "compare.cities": "Cities",
    "compare.chooseOne": "Choose at least one city.",
    "compare.unknown": "Not in the reference data, left out: {cities}",
    "compare.loading": "Loading…",
    "compare.failed": "The comparison could not be loaded: {detail}",
    "compare.catalogueFailed": "The indicator catalogue could not be loaded: {detail}",
    "compare.table": "Indicators",
    "compare.tableCaption": "Indicators of the chosen cities: value, unit, year, rank and sources",
    "compare.indicator": "Indicator",
    "compare.noRows": "No indicator has a value for these cities.",
    "compare.missing": "missing",
    "compare.rank": "Rank {rank} of {of}",
    "compare.best": "best",
    "compare.year": "Year {year}",
    "compare.source": "Source {n}: {source}",
    "compare.sources": "Sources",
    "compare.noSources": "No sources: no value is shown.",
    "compare.themes": "Theme scores",
    "compare.themesHint": "Each city's mean share of the best value per theme (100 = best in every ranked indicator of the theme).",
    "compare.noThemes": "No theme has a ranked indicator for these cities.",
    "compare.score": "Score",
    "compare.ranked": "Ranked indicators",
    "compare.noRanked": "No indicator is ranked for these cities: a rank needs two cities with a value.",
    "compare.area.city": "city",
    "compare.area.urban-core": "central urban area",
    "compare.area.municipality": "whole municipality",
    "compare.area.metro-region": "metropolitan region",
    "compare.area.wider-region": "wider region",
    "compare.area.city-part": "part of the city",
    "compare.area.airport": "main airport",
    "compare.area.port": "port",
    "compare.area.stations": "monitoring stations",
    "compare.area.corridor": "city's rail corridor",
    "compare.area.hub": "hub, both directions",
    "compare.area.terminal": "terminal",
    "compare.area.two-cities": "two cities together",
    "compare.area.university": "university, two campuses",
    "compare.area.city proper": "city proper",
    "compare.quality.weak": "weak secondary source",
    "compare.quality.verify": "to verify against the primary publication",
    "compare.quality.secondary": "secondary source",
    "compare.reason.area": "on another area ({area})",
    "compare.reason.window": "more than {window} years older than the newest figure ({newest})",
    "compare.reason.undated": "year not stated",
    "compare.reason.unit": "another unit or currency ({unit})",
    "compare.reason.indicator": "each source counts it differently; shown, never ranked",
    "compare.reason.context": "context, never ranked",
    "compare.reason.alone": "no peer figure on a comparable basis",
    "compare.reason.population": "no population of the same area ({area})",
    "compare.reason.live": "computed live",
    "compare.bound.>": "more than",
    "compare.bound.<": "up to",
    "compare.bound.~": "about",
    "compare.live": "Measured by the city itself (not ranked)",
    "compare.liveIntro": "Computed from this city's own sensors and records; never ranked against published figures.",
    "compare.noYear": "year not stated",
    "compare.circa": "c. {year}",
    "compare.city.lodz": "Łódź",
    "compare.intro": "Indicators of the chosen cities side by side, one row per indicator: each value with its year, the area it covers and its sources. A rank (1 = best) only where the values are comparable (the same kind of area, unit and a near year); the others are context, with the reason. A missing value is shown as missing, never as zero.",
  },
  zh: {
    "compare.area.city": "城市",
    "compare.area.urban-core": "中心城区",
    "compare.area.municipality": "全市域",
    "compare.area.metro-region": "都市圈",
    "compare.area.wider-region": "更大区域",
    "compare.area.city-part": "城市的一部分",
    "compare.area.airport": "主要机场",
    "compare.area.port": "港口",
    "compare.area.stations": "监测站",
    "compare.area.corridor": "城市的铁路通道",
    "compare.area.hub": "枢纽（双向）",
    "compare.area.terminal": "场站",
    "compare.area.two-cities": "两市合计",
    "compare.area.university": "大学（两个校区）",
    "compare.area.city proper": "市区",
    "compare.quality.weak": "较弱的二手来源",
    "compare.quality.verify": "需与原始出版物核对",
    "compare.quality.secondary": "二手来源",
    "compare.reason.area": "其他区域口径（{area}）",
    "compare.reason.window": "比最新数值（{newest}）早 {window} 年以上",
    "compare.reason.undated": "未注明年份",
    "compare.reason.unit": "单位或货币不同（{unit}）",
    "compare.reason.indicator": "各来源统计口径不同；仅展示，不排名",
    "compare.reason.context": "背景信息，不排名",
    "compare.reason.alone": "没有可比口径的对比城市数值",
    "compare.reason.population": "缺少同一区域的人口（{area}）",
    "compare.reason.live": "实时计算",
    "compare.bound.>": "超过",
    "compare.bound.<": "至多",
    "compare.bound.~": "约",
    "compare.live": "本市自测数值（不参与排名）",
    "compare.liveIntro": "由本市自己的传感器和记录计算；从不与已发布的数字一起排名。",
    "compare.noYear": "未注明年份",
    "compare.circa": "约 {year} 年",
    "compare.city.lodz": "罗兹",
    "compare.title": "城市对比",
    "compare.nav": "城市对比",
    "compare.intro": "所选城市的指标并列对比，每个指标一行：每个数值附年份、所覆盖的区域及来源。仅在数值可比（同类区域、同一单位、年份相近）时给出排名（1 为最佳）；其余作为背景并说明原因。缺失的数值标为“缺失”，绝不以零代替。",
    "compare.cities": "城市",
    "compare.chooseOne": "请至少选择一个城市。",
    "compare.unknown": "参考数据中没有以下城市，已略去：{cities}",
    "compare.loading": "加载中…",
    "compare.failed": "无法加载对比数据：{detail}",
    "compare.catalogueFailed": "无法加载指标目录：{detail}",
    "compare.table": "指标",
    "compare.tableCaption": "所选城市的指标：数值、单位、年份、排名及来源",
    "compare.indicator": "指标",
    "compare.noRows": "这些城市没有任何指标数值。",
    "compare.missing": "缺失",
    "compare.rank": "第 {rank} 名（共 {of} 个城市）",
    "compare.best": "最佳",
    "compare.year": "{year} 年",
    "compare.source": "来源 {n}：{source}",
    "compare.sources": "来源",
    "compare.noSources": "无来源：没有显示任何数值。",
    "compare.themes": "主题得分",
    "compare.themesHint": "各城市在每个主题中相对最佳值的平均比例（100 表示该主题每个排名指标均为最佳）。",
    "compare.noThemes": "这些城市在任何主题中都没有可排名的指标。",
    "compare.score": "得分",
    "compare.ranked": "排名指标",
    "compare.noRanked": "这些城市没有可排名的指标：排名需要至少两个城市有数值。",
    "compare.city.chongqing": "重庆",
    "compare.city.london": "伦敦",
    "compare.city.warsaw": "华沙",
    "compare.city.duisburg": "杜伊斯堡",
    "compare.theme.economy": "经济",
    "compare.theme.education": "教育",
    "compare.theme.energy": "能源",
    "compare.theme.environment": "环境",
    "compare.theme.finance": "财政",
    "compare.theme.governance": "治理",
    "compare.theme.health": "卫生",
    "compare.theme.housing": "住房",
    "compare.theme.population": "人口",
    "compare.theme.recreation": "休闲",
    "compare.theme.safety": "安全",
    "compare.theme.solid waste": "固体废物",
    "compare.theme.sport and culture": "体育与文化",
    "compare.theme.telecommunication": "电信",
    "compare.theme.transportation": "交通",
    "compare.theme.urban agriculture": "城市农业",
    "compare.theme.urban planning": "城市规划",
    "compare.theme.wastewater": "污水",
    "compare.theme.water": "供水",
    "compare.theme.smart": "智慧城市",
    "compare.ind.iso37120-18.1": "每 10 万人口大运量公共交通系统里程",
    "compare.ind.iso37120-18.3": "人均年公共交通出行次数",
    "compare.ind.population": "人口",
    "compare.ind.gdp": "地区生产总值",
    "compare.ind.urban-rail-length": "城市轨道交通里程",
    "compare.ind.urban-rail-stations": "城市轨道交通车站数",
    "compare.ind.urban-rail-ridership": "城市轨道交通年客运量",
    "compare.ind.urban-rail-ridership-per-capita": "人均城市轨道交通年乘次",
    "compare.ind.governance-on-time-accept": "案件按时受理率",
    "compare.ind.sensors-reporting": "在线传感器比例",
    "compare.ind.freight-trains-per-month": "中欧班列月开行量",
    "compare.ind.freight-trains-per-year": "中欧班列年开行量",
    "compare.ind.freight-teu-per-year": "中欧班列年运量（标箱）",
    "compare.ind.air-quality-good-days": "空气质量优良天数比例",
    "compare.ind.oee": "设备综合效率",
    "compare.unit.km per 100 000 population": "公里/10 万人",
    "compare.unit.trips per capita per year": "次/人·年",
    "compare.unit.persons": "人",
    "compare.unit.CNY": "元",
    "compare.unit.km": "公里",
    "compare.unit.stations": "座",
    "compare.unit.rides per year": "人次/年",
    "compare.unit.rides per capita per year": "人次/人·年",
    "compare.unit.trains per month": "列/月",
    "compare.unit.trains per year": "列/年",
    "compare.unit.TEU per year": "标箱/年",
  },
  pl: {
    "compare.area.city": "miasto",
    "compare.area.urban-core": "centralny obszar miejski",
    "compare.area.municipality": "cała municypalność",
    "compare.area.metro-region": "region metropolitalny",
    "compare.area.wider-region": "szerszy region",
    "compare.area.city-part": "część miasta",
    "compare.area.airport": "główne lotnisko",
    "compare.area.port": "port",
    "compare.area.stations": "stacje pomiarowe",
    "compare.area.corridor": "korytarz kolejowy miasta",
    "compare.area.hub": "węzeł, oba kierunki",
    "compare.area.terminal": "terminal",
    "compare.area.two-cities": "dwa miasta łącznie",
    "compare.area.university": "uczelnia, dwa kampusy",
    "compare.area.city proper": "miasto",
    "compare.quality.weak": "słabe źródło wtórne",
    "compare.quality.verify": "do sprawdzenia w publikacji pierwotnej",
    "compare.quality.secondary": "źródło wtórne",
    "compare.reason.area": "inny obszar ({area})",
    "compare.reason.window": "starsze o ponad {window} lat od najnowszej liczby ({newest})",
    "compare.reason.undated": "rok nie podany",
    "compare.reason.unit": "inna jednostka lub waluta ({unit})",
    "compare.reason.indicator": "każde źródło liczy inaczej; pokazane, bez rankingu",
    "compare.reason.context": "tło, bez rankingu",
    "compare.reason.alone": "brak liczby partnera na porównywalnej podstawie",
    "compare.reason.population": "brak ludności tego samego obszaru ({area})",
    "compare.reason.live": "obliczone na bieżąco",
    "compare.bound.>": "ponad",
    "compare.bound.<": "do",
    "compare.bound.~": "około",
    "compare.live": "Pomiary własne miasta (bez rankingu)",
    "compare.liveIntro": "Obliczone z własnych czujników i rejestrów miasta; nigdy nie zestawiane w rankingu z liczbami publikowanymi.",
    "compare.noYear": "rok nie podany",
    "compare.circa": "ok. {year}",
    "compare.ind.iso37120-18.1": "Kilometry sieci transportu publicznego o dużej przepustowości na 100 000 mieszkańców",
    "compare.ind.iso37120-18.3": "Roczna liczba podróży transportem publicznym na mieszkańca",
    "compare.ind.population": "Ludność",
    "compare.ind.area": "Powierzchnia",
    "compare.ind.gdp": "Produkt krajowy brutto",
    "compare.ind.gdp-per-capita": "PKB na mieszkańca",
    "compare.ind.urban-rail-length": "Długość sieci kolei miejskiej",
    "compare.ind.urban-rail-stations": "Stacje kolei miejskiej",
    "compare.ind.urban-rail-ridership": "Roczna liczba przejazdów koleją miejską",
    "compare.ind.urban-rail-ridership-per-capita": "Przejazdy koleją miejską na mieszkańca rocznie",
    "compare.ind.public-transport-trips": "Roczna liczba podróży transportem publicznym",
    "compare.ind.bus-trips": "Roczna liczba podróży autobusami",
    "compare.ind.bus-fleet": "Tabor autobusów miejskich",
    "compare.ind.airport-passengers": "Pasażerowie głównego lotniska",
    "compare.ind.cars-per-1000": "Samochody osobowe na 1000 mieszkańców",
    "compare.ind.vehicles-per-1000": "Zarejestrowane pojazdy na 1000 mieszkańców",
    "compare.ind.sustainable-mode-share": "Udział podróży pieszych, rowerowych i transportem publicznym",
    "compare.ind.public-transport-mode-share": "Udział transportu publicznego w podróżach",
    "compare.ind.new-energy-vehicle-share": "Udział pojazdów nowej energii wśród nowo rejestrowanych",
    "compare.ind.freight-trains-per-year": "Pociągi towarowe korytarza Chiny–Europa rocznie",
    "compare.ind.freight-teu-per-year": "Kontenery korytarza Chiny–Europa rocznie",
    "compare.ind.freight-trains-per-month": "Pociągi towarowe korytarza miesięcznie",
    "compare.ind.port-teu-per-year": "Przeładunki kontenerów w porcie",
    "compare.ind.higher-education-institutions": "Uczelnie",
    "compare.ind.higher-education-students": "Studenci",
    "compare.ind.students-per-1000": "Studenci na 1000 mieszkańców",
    "compare.ind.higher-education-enrolment": "Współczynnik skolaryzacji brutto w szkolnictwie wyższym",
    "compare.ind.tertiary-attainment": "Dorośli z wykształceniem wyższym",
    "compare.ind.years-of-schooling": "Średnia liczba lat nauki",
    "compare.ind.schools": "Szkoły (przedszkola, podstawowe i średnie)",
    "compare.ind.primary-schools": "Szkoły podstawowe",
    "compare.ind.secondary-schools": "Szkoły średnie",
    "compare.ind.pupils": "Uczniowie szkół miejskich",
    "compare.ind.pupils-per-teacher": "Uczniowie na nauczyciela",
    "compare.ind.education-budget": "Miejski budżet na edukację",
    "compare.ind.foreign-trade": "Handel zagraniczny (import i eksport)",
    "compare.ind.fortune-500-present": "Firmy z listy Fortune Global 500 obecne w mieście",
    "compare.ind.foreign-invested-enterprises": "Przedsiębiorstwa z kapitałem zagranicznym",
    "compare.ind.oee": "Całkowita efektywność wyposażenia (OEE)",
    "compare.ind.pm25": "Średnie roczne stężenie PM2,5",
    "compare.ind.no2": "Średnie roczne stężenie NO₂",
    "compare.ind.good-air-days": "Dni o dobrej jakości powietrza",
    "compare.ind.air-quality-good-days": "Udział dni o dobrej jakości powietrza",
    "compare.ind.forest-cover": "Lesistość",
    "compare.ind.park-space-per-capita": "Zieleń parkowa na mieszkańca",
    "compare.ind.green-share": "Udział terenów zielonych w powierzchni miasta",
    "compare.ind.5g-base-stations": "Stacje bazowe 5G",
    "compare.ind.5g-per-10000": "Stacje bazowe 5G na 10 000 mieszkańców",
    "compare.ind.digital-economy-share": "Udział gospodarki cyfrowej w PKB",
    "compare.ind.open-datasets": "Zbiory na miejskim portalu otwartych danych",
    "compare.ind.governance-on-time-accept": "Sprawy przyjęte w terminie",
    "compare.ind.sensors-reporting": "Czujniki raportujące w ostatniej godzinie",
    "compare.theme.economy": "gospodarka",
    "compare.theme.education": "edukacja",
    "compare.theme.energy": "energia",
    "compare.theme.environment": "środowisko",
    "compare.theme.finance": "finanse",
    "compare.theme.governance": "zarządzanie",
    "compare.theme.health": "zdrowie",
    "compare.theme.housing": "mieszkalnictwo",
    "compare.theme.population": "ludność",
    "compare.theme.recreation": "rekreacja",
    "compare.theme.safety": "bezpieczeństwo",
    "compare.theme.solid waste": "odpady stałe",
    "compare.theme.sport and culture": "sport i kultura",
    "compare.theme.telecommunication": "telekomunikacja",
    "compare.theme.transportation": "transport",
    "compare.theme.urban agriculture": "rolnictwo miejskie",
    "compare.theme.urban planning": "planowanie przestrzenne",
    "compare.theme.wastewater": "ścieki",
    "compare.theme.water": "woda",
    "compare.theme.smart": "miasto inteligentne",
    "compare.unit.km": "km",
    "compare.unit.km²": "km²",
    "compare.unit.µg/m³": "µg/m³",
    "compare.unit.%": "%",
    "compare.unit.PLN": "PLN",
    "compare.unit.CNY": "CNY",
    "compare.unit.GBP": "GBP",
    "compare.unit.EUR": "EUR",
    "compare.unit.EUR PPS": "EUR PPS",
    "compare.unit.TEU per year": "TEU rocznie",
    "compare.unit.currency as stated": "waluta wg źródła",
    "compare.unit.% of trips": "% podróży",
    "compare.unit.% of new vehicles": "% nowych pojazdów",
    "compare.unit.% of adults": "% dorosłych",
    "compare.unit.% of land area": "% powierzchni lądu",
    "compare.unit.% of area": "% powierzchni",
    "compare.unit.% of GDP": "% PKB",
    "compare.unit.m² per urban resident": "m² na mieszkańca miasta",
    "compare.unit.per 10,000 people": "na 10 000 mieszkańców",
    "compare.unit.km per 100 000 population": "km na 100 000 mieszkańców",
    "compare.unit.stations": "stacji",
    "compare.unit.stations.one": "stacja",
    "compare.unit.stations.few": "stacje",
    "compare.unit.stations.many": "stacji",
    "compare.unit.stations.other": "stacji",
    "compare.unit.rides per year": "przejazdów rocznie",
    "compare.unit.rides per year.one": "przejazd rocznie",
    "compare.unit.rides per year.few": "przejazdy rocznie",
    "compare.unit.rides per year.many": "przejazdów rocznie",
    "compare.unit.rides per year.other": "przejazdu rocznie",
    "compare.unit.trips per year": "podróży rocznie",
    "compare.unit.trips per year.one": "podróż rocznie",
    "compare.unit.trips per year.few": "podróże rocznie",
    "compare.unit.trips per year.many": "podróży rocznie",
    "compare.unit.trips per year.other": "podróży rocznie",
    "compare.unit.buses": "autobusów",
    "compare.unit.buses.one": "autobus",
    "compare.unit.buses.few": "autobusy",
    "compare.unit.buses.many": "autobusów",
    "compare.unit.buses.other": "autobusu",
    "compare.unit.passengers per year": "pasażerów rocznie",
    "compare.unit.passengers per year.one": "pasażer rocznie",
    "compare.unit.passengers per year.few": "pasażerowie rocznie",
    "compare.unit.passengers per year.many": "pasażerów rocznie",
    "compare.unit.passengers per year.other": "pasażera rocznie",
    "compare.unit.cars per 1,000 inhabitants": "samochodów na 1000 mieszkańców",
    "compare.unit.cars per 1,000 inhabitants.one": "samochód na 1000 mieszkańców",
    "compare.unit.cars per 1,000 inhabitants.few": "samochody na 1000 mieszkańców",
    "compare.unit.cars per 1,000 inhabitants.many": "samochodów na 1000 mieszkańców",
    "compare.unit.cars per 1,000 inhabitants.other": "samochodu na 1000 mieszkańców",
    "compare.unit.vehicles per 1,000 inhabitants": "pojazdów na 1000 mieszkańców",
    "compare.unit.vehicles per 1,000 inhabitants.one": "pojazd na 1000 mieszkańców",
    "compare.unit.vehicles per 1,000 inhabitants.few": "pojazdy na 1000 mieszkańców",
    "compare.unit.vehicles per 1,000 inhabitants.many": "pojazdów na 1000 mieszkańców",
    "compare.unit.vehicles per 1,000 inhabitants.other": "pojazdu na 1000 mieszkańców",
    "compare.unit.trains per year": "pociągów rocznie",
    "compare.unit.trains per year.one": "pociąg rocznie",
    "compare.unit.trains per year.few": "pociągi rocznie",
    "compare.unit.trains per year.many": "pociągów rocznie",
    "compare.unit.trains per year.other": "pociągu rocznie",
    "compare.unit.trains per month": "pociągów miesięcznie",
    "compare.unit.trains per month.one": "pociąg miesięcznie",
    "compare.unit.trains per month.few": "pociągi miesięcznie",
    "compare.unit.trains per month.many": "pociągów miesięcznie",
    "compare.unit.trains per month.other": "pociągu miesięcznie",
    "compare.unit.trains": "pociągów",
    "compare.unit.trains.one": "pociąg",
    "compare.unit.trains.few": "pociągi",
    "compare.unit.trains.many": "pociągów",
    "compare.unit.trains.other": "pociągu",
    "compare.unit.institutions": "uczelni",
    "compare.unit.institutions.one": "uczelnia",
    "compare.unit.institutions.few": "uczelnie",
    "compare.unit.institutions.many": "uczelni",
    "compare.unit.institutions.other": "uczelni",
    "compare.unit.students": "studentów",
    "compare.unit.students.one": "student",
    "compare.unit.students.few": "studenci",
    "compare.unit.students.many": "studentów",
    "compare.unit.students.other": "studenta",
    "compare.unit.students per 1,000 inhabitants": "studentów na 1000 mieszkańców",
    "compare.unit.students per 1,000 inhabitants.one": "student na 1000 mieszkańców",
    "compare.unit.students per 1,000 inhabitants.few": "studentów na 1000 mieszkańców",
    "compare.unit.students per 1,000 inhabitants.many": "studentów na 1000 mieszkańców",
    "compare.unit.students per 1,000 inhabitants.other": "studenta na 1000 mieszkańców",
    "compare.unit.years": "lat",
    "compare.unit.years.one": "rok",
    "compare.unit.years.few": "lata",
    "compare.unit.years.many": "lat",
    "compare.unit.years.other": "roku",
    "compare.unit.schools": "szkół",
    "compare.unit.schools.one": "szkoła",
    "compare.unit.schools.few": "szkoły",
    "compare.unit.schools.many": "szkół",
    "compare.unit.schools.other": "szkoły",
    "compare.unit.pupils": "uczniów",
    "compare.unit.pupils.one": "uczeń",
    "compare.unit.pupils.few": "uczniów",
    "compare.unit.pupils.many": "uczniów",
    "compare.unit.pupils.other": "ucznia",
    "compare.unit.pupils per teacher": "uczniów na nauczyciela",
    "compare.unit.pupils per teacher.one": "uczeń na nauczyciela",
    "compare.unit.pupils per teacher.few": "uczniów na nauczyciela",
    "compare.unit.pupils per teacher.many": "uczniów na nauczyciela",
    "compare.unit.pupils per teacher.other": "ucznia na nauczyciela",
    "compare.unit.companies": "firm",
    "compare.unit.companies.one": "firma",
    "compare.unit.companies.few": "firmy",
    "compare.unit.companies.many": "firm",
    "compare.unit.companies.other": "firmy",
    "compare.unit.enterprises": "przedsiębiorstw",
    "compare.unit.enterprises.one": "przedsiębiorstwo",
    "compare.unit.enterprises.few": "przedsiębiorstwa",
    "compare.unit.enterprises.many": "przedsiębiorstw",
    "compare.unit.enterprises.other": "przedsiębiorstwa",
    "compare.unit.days": "dni",
    "compare.unit.days.one": "dzień",
    "compare.unit.days.few": "dni",
    "compare.unit.days.many": "dni",
    "compare.unit.days.other": "dnia",
    "compare.unit.base stations": "stacji bazowych",
    "compare.unit.base stations.one": "stacja bazowa",
    "compare.unit.base stations.few": "stacje bazowe",
    "compare.unit.base stations.many": "stacji bazowych",
    "compare.unit.base stations.other": "stacji bazowej",
    "compare.unit.datasets": "zbiorów danych",
    "compare.unit.datasets.one": "zbiór danych",
    "compare.unit.datasets.few": "zbiory danych",
    "compare.unit.datasets.many": "zbiorów danych",
    "compare.unit.datasets.other": "zbioru danych",
    "compare.unit.persons": "osób",
    "compare.unit.persons.one": "osoba",
    "compare.unit.persons.few": "osoby",
    "compare.unit.persons.many": "osób",
    "compare.unit.persons.other": "osoby",
    "compare.unit.hours": "godzin",
    "compare.unit.hours.one": "godzina",
    "compare.unit.hours.few": "godziny",
    "compare.unit.hours.many": "godzin",
    "compare.unit.hours.other": "godziny",
    "compare.unit.rides per capita per year": "przejazdów na mieszkańca rocznie",
    "compare.unit.rides per capita per year.one": "przejazd na mieszkańca rocznie",
    "compare.unit.rides per capita per year.few": "przejazdy na mieszkańca rocznie",
    "compare.unit.rides per capita per year.many": "przejazdów na mieszkańca rocznie",
    "compare.unit.rides per capita per year.other": "przejazdu na mieszkańca rocznie",
    "compare.unit.trips per capita per year": "podróży na mieszkańca rocznie",
    "compare.unit.trips per capita per year.one": "podróż na mieszkańca rocznie",
    "compare.unit.trips per capita per year.few": "podróże na mieszkańca rocznie",
    "compare.unit.trips per capita per year.many": "podróży na mieszkańca rocznie",
    "compare.unit.trips per capita per year.other": "podróży na mieszkańca rocznie",
    "compare.unit.TEU": "TEU",
    "compare.city.london": "Londyn",
    "compare.city.warsaw": "Warszawa",
    "compare.city.lodz": "Łódź",
    "compare.title": "Porównanie miast",
    "compare.nav": "Porównanie",
    "compare.intro": "Wskaźniki wybranych miast obok siebie, jeden wiersz na wskaźnik: każda liczba z rokiem, obszarem, którego dotyczy, i źródłami. Pozycja (1 = najlepsza) tylko tam, gdzie liczby są porównywalne (ten sam rodzaj obszaru, jednostka i nieodległy rok); pozostałe są tłem, z podanym powodem. Brak liczby jest pokazany jako brak, nigdy jako zero.",
    "compare.cities": "Miasta",
    "compare.chooseOne": "Wybierz co najmniej jedno miasto.",
    "compare.unknown": "Brak w danych referencyjnych, pominięto: {cities}",
    "compare.loading": "Wczytywanie…",
    "compare.failed": "Nie udało się wczytać porównania: {detail}",
    "compare.catalogueFailed": "Nie udało się wczytać katalogu wskaźników: {detail}",
    "compare.table": "Wskaźniki",
    "compare.tableCaption": "Wskaźniki wybranych miast: liczba, jednostka, rok, obszar, pozycja i źródła",
    "compare.indicator": "Wskaźnik",
    "compare.noRows": "Żaden wskaźnik nie ma liczby dla tych miast.",
    "compare.missing": "brak",
    "compare.rank": "Pozycja {rank} z {of}",
    "compare.best": "najlepsze",
    "compare.year": "Rok {year}",
    "compare.source": "Źródło {n}: {source}",
    "compare.sources": "Źródła",
    "compare.noSources": "Brak źródeł: nie pokazano żadnej liczby.",
    "compare.themes": "Wyniki według tematów",
    "compare.themesHint": "Średni udział każdego miasta w najlepszym wyniku w temacie (100 = najlepsze we wszystkich porównanych wskaźnikach tematu).",
    "compare.noThemes": "Żaden temat nie ma porównanego wskaźnika dla tych miast.",
    "compare.score": "Wynik",
    "compare.ranked": "Porównane wskaźniki",
    "compare.noRanked": "Żaden wskaźnik nie jest porównany: pozycja wymaga dwóch miast z liczbą na porównywalnej podstawie.",
  },
};

/* ---- names and numbers in the current language ---- */

/** "chongqing" → "Chongqing" / 重庆. */
function cityName(city) {
  return tOr(`compare.city.${city}`, city.replace(/(^|[\s-])\p{L}/gu, (letter) => letter.toUpperCase()));
}

const indicatorName = (indicator) => tOr(`compare.ind.${indicator.id}`, indicator.name);
const themeName = (theme) => tOr(`compare.theme.${theme}`, theme);
/**
 * The CLDR plural category of a value as the cell shows it: rounded as fmtNumber rounds it
 * (115, not 114.5), and the genitive plural ("many") after a compact scale (1,1 mld).
 */
function pluralForm(value) {
  const number = Number(value);
  if (Math.abs(number) >= COMPACT_FROM) return "many";
  const fraction = Math.abs(number) >= 100 || Number.isInteger(number) ? 0 : Math.abs(number) >= 10 ? 1 : 2;
  return new Intl.PluralRules(locale(), { maximumFractionDigits: fraction }).select(number);
}

/** A value's year as the source gives it ("2022/23", "c. 2024" → "ok. 2024" in Polish). */
function periodText(cell) {
  const period = cell.period || (cell.year ? String(cell.year) : "");
  if (!period) return t("compare.noYear");
  return period.startsWith("c.") ? t("compare.circa", { year: period.slice(2).trim() }) : period;
}

/** A unit in its plural form for `value` (CLDR rules through Intl.PluralRules). */
const unitName = (unit, value) => {
  if (!unit) return "";
  const form = value === undefined ? null : pluralForm(value);
  return form && has(`compare.unit.${unit}.${form}`) ? t(`compare.unit.${unit}.${form}`) : tOr(`compare.unit.${unit}`, unit);
};

/** A value as shown in a cell: compact when large (the full figure is in the tooltip). */
function fmtValue(value) {
  return Math.abs(value) >= COMPACT_FROM ? fmtNumber(value, { compact: true, digits: 2 }) : fmtNumber(value);
}

/* ---- the choice of cities, in the hash ---- */

/**
 * The cities a hash query names, split into those with reference data (`chosen`, in the
 * query's order) and the rest (`unknown`); no `cities` at all: the default ones.
 * @param {URLSearchParams} query
 * @param {string[]} known the cities of /indicators
 */
function chosenCities(query, known) {
  if (!query?.has("cities")) {
    const defaults = DEFAULT_CITIES.filter((city) => known.includes(city));
    return { chosen: defaults.length ? defaults : known.slice(0, 4), unknown: [] };
  }
  const named = [...new Set(query.get("cities").split(",").map((c) => c.trim().toLowerCase()).filter(Boolean))];
  return { chosen: named.filter((c) => known.includes(c)), unknown: named.filter((c) => !known.includes(c)) };
}

/** Put the choice in the hash; the router hands it back through route(). */
function navigateTo(cities) {
  location.hash = `#/${id}?cities=${cities.map(encodeURIComponent).join(",")}`;
}

/** The themes the hash names (`themes=all`: every theme), else transport and education. */
function chosenThemes(query) {
  if (!query?.has("themes")) return DEFAULT_THEMES;
  const named = query.get("themes").split(",").map((x) => x.trim()).filter(Boolean);
  return named.includes("all") ? [] : named;
}

/** Why a value is not ranked, in words. */
function reasonText(reason, t) {
  if (!reason?.length) return "";
  const [code, first, second] = reason;
  const vars = code === "window" ? { window: first, newest: second } : { area: areaName(first), unit: unitName(first) };
  return t(`compare.reason.${code}`, vars);
}
const areaName = (area) => (area ? tOr(`compare.area.${area}`, area) : "");

/* ---- the table ---- */

/** Source text → its number in the list under the table (1-based, the API's order). */
function sourceNumbers(sources) {
  return new Map(sources.map((source, index) => [sourceKey(source), index + 1]));
}

const sourceAnchor = (n) => `compare-source-${n}`;

/** A citation marker [n]: a link to the numbered source (scrolled to, the hash untouched). */
function citationLink(cited, numbers, t) {
  const n = numbers.get(sourceKey(cited));
  const source = sourceText(cited);
  if (!n) return el("sup", { class: "cite unlisted", text: `[${source}]` });
  return el("a", {
    class: "cite", href: `#${sourceAnchor(n)}`, "data-source": n,
    title: t("compare.source", { n, source }), "aria-label": t("compare.source", { n, source }),
    text: `[${n}]`,
    onclick: (event) => {
      event.preventDefault(); // the hash is the router's: scroll instead of navigating
      const target = document.getElementById(sourceAnchor(n));
      target?.scrollIntoView({ block: "center", behavior: "smooth" });
      target?.focus({ preventScroll: true });
    },
  });
}

/** The rank badge: "1" highlighted as the best; the ranked cities' count in the tooltip. */
function rankBadge(rank, of, t) {
  const label = t("compare.rank", { rank, of });
  return el("span", { class: `rank${rank === 1 ? " rank-1" : ""}`, title: label, "aria-label": label, text: String(rank) });
}

/** One city's cell of a row: value + unit, year, rank, citations; or "missing". */
function valueCell(cell, rankedCount, numbers, t) {
  if (cell.value === null || cell.value === undefined) {
    return el("td", { class: "missing", "data-city": cell.city, title: cell.note || null, text: t("compare.missing") });
  }
  const whole = `${fmtNumber(cell.value, { digits: 6 })} ${unitName(cell.unit)}`.trim();
  const bound = cell.bound ? t(`compare.bound.${cell.bound}`) : "";
  const period = periodText(cell);
  const why = reasonText(cell.reason, t);
  return el("td", {
    class: `value${why ? " context" : ""}`, "data-city": cell.city, "data-rank": cell.rank ?? null,
    "data-area": cell.area || null, "data-comparable": String(!why),
    title: [whole, cell.basis].filter(Boolean).join("\n"),
  }, [
    bound ? el("span", { class: "bound", text: `${bound} ` }) : null,
    el("span", { class: "figure", text: fmtValue(cell.value) }),
    cell.unit ? el("span", { class: "unit", text: ` ${unitName(cell.unit, cell.value)}` }) : null,
    cell.rank ? [" ", rankBadge(cell.rank, rankedCount, t)] : null,
    el("span", { class: "cites" }, (cell.citations || []).map((source) => citationLink(source, numbers, t))),
    el("div", { class: "basis muted", text: `${period} · ${areaName(cell.area)}` }),
    why ? el("div", { class: "reason muted", text: why }) : null,
    (cell.quality || []).map((flag) => el("div", { class: "quality", text: t(`compare.quality.${flag}`) })),
  ]);
}

/** The row's header: the indicator's name, its basis when the row is on one; definition as tooltip. */
function rowHeader(row) {
  const { indicator } = row;
  return el("th", { scope: "row", title: indicator.definition || null }, [indicatorName(indicator)]);
}

function tableRow(row, cities, numbers, t) {
  const byCity = new Map(row.cells.map((cell) => [cell.city, cell]));
  const rankedCount = row.cells.filter((cell) => cell.rank).length;
  const compared = row.cells.filter((cell) => cell.rank).length;
  return el("tr", { "data-indicator": row.indicator.id, "data-compared": compared }, [
    rowHeader(row),
    cities.map((city) => valueCell(byCity.get(city) || { city, value: null }, rankedCount, numbers, t)),
  ]);
}

/** Rows grouped by theme, in the API's (catalogue) order: a tbody per theme. */
function byTheme(rows) {
  const groups = new Map();
  for (const row of rows) {
    const theme = row.indicator.theme || "";
    if (!groups.has(theme)) groups.set(theme, []);
    groups.get(theme).push(row);
  }
  return groups;
}

function comparisonTable(result, t, rows = result.rows) {
  const numbers = sourceNumbers(result.sources || []);
  const { cities } = result;
  const head = el("thead", {}, el("tr", {}, [
    el("th", { scope: "col", text: t("compare.indicator") }),
    cities.map((city) => el("th", { scope: "col", "data-city": city, text: cityName(city) })),
  ]));
  const bodies = [...byTheme(rows)].map(([theme, rows]) => el("tbody", { "data-theme": theme }, [
    el("tr", { class: "theme-row" }, el("th", { scope: "colgroup", colspan: cities.length + 1, text: themeName(theme) })),
    rows.map((row) => tableRow(row, cities, numbers, t)),
  ]));
  return el("table", { class: "data compare-table" }, [
    el("caption", { class: "sr-only", text: t("compare.tableCaption") }), head, bodies,
  ]);
}

function sourceList(sources, t) {
  if (!sources.length) return el("p", { class: "note", text: t("compare.noSources") });
  return el("ol", { class: "compare-sources" }, sources.map((source, index) => el("li", {
    id: sourceAnchor(index + 1), tabindex: "-1", "data-source": index + 1,
  }, linkified(sourceText(source)))));
}

/** A source's text; a bare web address in it becomes a link. */
function linkified(source) {
  return String(source).split(/(https?:\/\/\S+)/).map((part) => (/^https?:\/\//.test(part)
    ? el("a", { href: part, rel: "noopener", target: "_blank", text: part }) : part));
}

/* ---- the charts ---- */

/**
 * The theme scores chart: a radar when enough themes are scored, else grouped bars.
 * @returns {object|null} the ECharts instance, null when no theme is scored
 */
function themeChart(box, result, charts, t) {
  const scored = Object.entries(result.themes || {})
    .filter(([, scores]) => Object.values(scores).some((score) => score !== null && score !== undefined));
  if (!scored.length) {
    box.style.height = "";
    replace(box, el("p", { class: "note", text: t("compare.noThemes") }));
    box.dataset.chart = "none";
    return null;
  }
  const series = result.cities.map((city) => ({ name: cityName(city), data: scored.map(([, scores]) => scores[city] ?? null) }));
  const format = (value) => fmtNumber(value, { digits: 0 });
  box.dataset.chart = scored.length >= RADAR_MIN_THEMES ? "radar" : "bars";
  if (box.dataset.chart === "radar") {
    box.style.height = RADAR_HEIGHT;
    return charts.radar(box, { indicators: scored.map(([theme]) => ({ name: themeName(theme), max: 100 })), series, format });
  }
  box.style.height = `${60 + scored.length * (result.cities.length * 22 + 14)}px`;
  return charts.bars(box, {
    categories: scored.map(([theme]) => themeName(theme)), series, unit: t("compare.score"),
    horizontal: true, labels: true, missing: t("compare.missing"), format,
  });
}

/** Rows with at least one ranked cell: the ones a bar chart compares. */
function rankedRows(result) {
  return result.rows.filter((row) => row.cells.some((cell) => cell.rank));
}

/** A small horizontal bar chart of one ranked indicator: a bar per city, missing ones labelled. */
function indicatorChart(row, cities, charts, t) {
  const byCity = new Map(row.cells.map((cell) => [cell.city, cell]));
  const holder = el("div", { class: "compare-chart small", "data-indicator": row.indicator.id });
  const figure = el("figure", { class: "panel compare-figure" }, [
    el("figcaption", { title: row.indicator.definition || null }, [
      indicatorName(row.indicator), el("span", { class: "unit", text: ` (${unitName(row.indicator.unit)})` }),
    ]),
    holder,
  ]);
  holder.style.height = `${48 + cities.length * 30}px`;
  const chart = () => charts.bars(holder, {
    categories: cities.map(cityName),
    series: [{ name: indicatorName(row.indicator), data: cities.map((city) => byCity.get(city)?.value ?? null) }],
    horizontal: true, labels: true, missing: t("compare.missing"), format: fmtValue,
  });
  return { figure, chart };
}

/* ---- the page ---- */

/** The page mounted now: route() reaches it when only the hash query changes. */
let active = null;

/** #/compare?cities=… again with another choice: compare those without remounting. */
export function route(params, query) {
  active?.show(query);
}

export async function mount(root, ctx) {
  const { api, t, charts } = ctx;
  const state = {
    known: [], loaded: false, query: ctx.query, chosen: [], unknown: [], result: null, error: null, loading: false, request: 0,
  };
  let drawn = [];

  const page = el("section", { class: "page compare", "data-page": id });
  const heading = el("h1");
  const intro = el("p", { class: "muted compare-intro" });
  const chooser = el("fieldset", { class: "panel compare-chooser" });
  const status = el("div", { class: "compare-status" });
  const tableTitle = el("h2");
  const tableBox = el("div", { class: "table-scroll", tabindex: "0", role: "region" });
  const liveBox = el("section", { class: "panel compare-live" });
  const sourcesTitle = el("h3");
  const sourcesBox = el("div");
  const themesTitle = el("h2");
  const themesHint = el("p", { class: "muted compare-hint" });
  const themesBox = el("div", { class: "compare-chart themes" });
  const rankedTitle = el("h2");
  const rankedBox = el("div", { class: "compare-figures" });
  const results = el("div", { class: "compare-results" }, [
    el("section", { class: "panel compare-table-panel" }, [tableTitle, tableBox]),
    liveBox,
    el("section", { class: "panel compare-sources-panel" }, [sourcesTitle, sourcesBox]),
    el("section", { class: "panel compare-themes" }, [themesTitle, themesHint, themesBox]),
    el("section", { class: "compare-ranked" }, [rankedTitle, rankedBox]),
  ]);
  page.append(heading, intro, chooser, status, results);
  replace(root, page);

  function renderChooser() {
    const boxes = state.known.map((city) => el("label", { class: "city-choice" }, [
      el("input", {
        type: "checkbox", name: "city", value: city, checked: state.chosen.includes(city),
        onchange: (event) => toggle(city, event.target.checked),
      }),
      ` ${cityName(city)}`,
    ]));
    replace(chooser, el("legend", { text: t("compare.cities") }), boxes);
  }

  /** A checkbox changed: the new choice goes to the hash (kept in the order chosen). */
  function toggle(city, on) {
    const cities = on ? [...state.chosen, city] : state.chosen.filter((c) => c !== city);
    navigateTo(cities);
  }

  function renderStatus() {
    const lines = [];
    if (state.error) lines.push(el("p", { class: "note error", role: "alert", text: t(state.error.key, { detail: state.error.detail }) }));
    if (state.unknown.length) lines.push(el("p", { class: "note", text: t("compare.unknown", { cities: state.unknown.join(", ") }) }));
    if (!state.error && !state.chosen.length && state.known.length) lines.push(el("p", { class: "note", text: t("compare.chooseOne") }));
    if (state.loading) lines.push(el("p", { class: "note", role: "status", text: t("compare.loading") }));
    replace(status, lines);
  }

  function clearCharts() {
    for (const chart of drawn) if (chart && !chart.isDisposed()) chart.dispose();
    drawn = [];
  }

  function renderResult() {
    clearCharts();
    const { result } = state;
    results.hidden = !result;
    if (!result) return;
    replace(tableBox, result.rows.length ? comparisonTable(result, t) : el("p", { class: "note", text: t("compare.noRows") }));
    replace(sourcesBox, sourceList(result.sources || [], t));
    liveBox.hidden = !result.live?.length;
    replace(liveBox, result.live?.length ? [
      el("h2", { text: t("compare.live") }), el("p", { class: "muted", text: t("compare.liveIntro") }),
      el("div", { class: "table-scroll" }, comparisonTable(result, t, result.live)),
    ] : []);
    drawn.push(themeChart(themesBox, result, charts, t));
    const ranked = rankedRows(result).map((row) => indicatorChart(row, result.cities, charts, t));
    replace(rankedBox, ranked.length ? ranked.map((r) => r.figure) : el("p", { class: "note", text: t("compare.noRanked") }));
    drawn.push(...ranked.map((r) => r.chart())); // drawn once in the page, so they have a size
  }

  function translate() {
    heading.textContent = t("compare.title");
    intro.textContent = t("compare.intro");
    tableTitle.textContent = t("compare.table");
    tableBox.setAttribute("aria-label", t("compare.table"));
    sourcesTitle.textContent = t("compare.sources");
    themesTitle.textContent = t("compare.themes");
    themesHint.textContent = t("compare.themesHint");
    rankedTitle.textContent = t("compare.ranked");
    renderChooser();
    renderStatus();
    renderResult();
  }

  /** Compare the cities the hash names (the last request wins when choices come quickly). */
  async function show(query) {
    state.query = query;
    if (!state.loaded) return; // the catalogue first: mount() then shows the latest query
    ({ chosen: state.chosen, unknown: state.unknown } = chosenCities(query, state.known));
    const request = ++state.request;
    renderChooser();
    if (!state.chosen.length) {
      Object.assign(state, { result: null, error: null, loading: false });
      translate();
      page.dataset.ready = "true";
      return;
    }
    delete page.dataset.ready;
    Object.assign(state, { loading: true, error: null });
    renderStatus();
    let result = null;
    let error = null;
    try {
      const themes = chosenThemes(query);
      const params = themes.length ? { cities: state.chosen, themes } : { cities: state.chosen };
      result = await api.get("/indicators/compare", params, { quiet: true });
    } catch (failure) {
      error = { key: "compare.failed", detail: problemText(failure) };
    }
    if (request !== state.request || active?.page !== page) return; // a newer choice, or the page left
    Object.assign(state, { result, error, loading: false });
    translate();
    page.dataset.ready = "true";
  }

  active = { page, show };
  const stopLanguage = ctx.onLanguage(translate);
  const dispose = () => {
    stopLanguage();
    clearCharts();
    if (active?.page === page) active = null;
  };
  translate();
  try {
    state.known = (await api.get("/indicators", null, { quiet: true }))?.cities || [];
    state.loaded = true;
  } catch (failure) {
    state.error = { key: "compare.catalogueFailed", detail: problemText(failure) };
    translate();
    page.dataset.ready = "true";
    return dispose;
  }
  await show(state.query);
  return dispose;
}
