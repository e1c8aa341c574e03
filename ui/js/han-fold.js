// Traditional -> simplified forms of the Han characters that occur in the language catalogue's names
// (and in the browser's language names for the four UI languages), so the picker's search finds 粵語
// by 粤 and 东北话 by 東北話. A small table on purpose: it covers the names, not the whole script.
const TRADITIONAL = '語話東肅貴寧陝雲粵吳閩廣韓國義亞馬蘭麥賓臘羅頓來體簡門灣華漢臺維爾烏麗創僅節與際島';
const SIMPLIFIED = '语话东肃贵宁陕云粤吴闽广韩国义亚马兰麦宾腊罗顿来体简门湾华汉台维尔乌丽创仅节与际岛';

const TO_SIMPLIFIED = new Map(Array.from(TRADITIONAL).map((ch, i) => [ch, Array.from(SIMPLIFIED)[i]]));

/** `text` with every listed traditional character replaced by its simplified form. */
export function foldHan(text) {
  let out = '';
  for (const ch of String(text || '')) out += TO_SIMPLIFIED.get(ch) || ch;
  return out;
}
