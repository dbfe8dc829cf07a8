// The attributes the benchmarks generate rows from: ten columns, with the cells a CRM export holds
// (accents, CJK, emoji, commas, quotes, line breaks, %, &, =, +).
export const COLUMNS = [
  "tier",
  "ltv",
  "score",
  "optIn",
  "signedUpAt",
  "lastPurchase",
  "city",
  "firstName",
  "segment",
  "note",
] as const;
export const TIERS = ["gold", "silver", "bronze", "platinum"];
export const CITIES = [
  "Paris",
  "São Paulo",
  "Zürich",
  "Kraków",
  "東京",
  "서울",
  "New York",
  "Montréal",
  "Ålesund",
  "Reykjavík",
];
export const NAMES = ["Ana", "Zoë", "François", "Björn", "Łukasz", "María José", "陽菜", "지훈", "Olivia", "Noah"];
export const SEGMENTS = ["retail", "b2b", "vip", "churn-risk", "a,b", "x&y", "50%", '"q"', "line\nbreak", "a=b+c"];
export const NOTES = [
  "call back later",
  "likes tea & cake",
  "moved\r\nabroad",
  "prefers email",
  "🎉 anniversary",
  "n/a",
];
