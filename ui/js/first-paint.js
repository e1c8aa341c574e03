// Runs before the first paint (a classic, render-blocking script in <head>): when the UI language will
// not be English, the page stays hidden until i18n.js has applied the translations, so no English
// flashes first. The choice is i18n.js's detectUiLanguage (tests/js/first-paint.test.mjs: they agree).
(function firstPaintLanguage() {
  var root = document.documentElement;
  var stored = null;
  try { stored = localStorage.getItem('qwen-asr.ui-lang'); } catch (e) { /* private mode: no choice kept */ }
  var prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  var lang = 'en';
  if (['en', 'zh-CN', 'zh-TW', 'ja'].indexOf(stored) >= 0) lang = stored;
  else {
    for (var i = 0; i < prefs.length; i += 1) {
      var tag = String(prefs[i] || '').toLowerCase();
      if (!tag) continue;
      if (tag.indexOf('zh') === 0) { lang = /^zh-(tw|hk|mo)\b/.test(tag) || tag.indexOf('hant') >= 0 ? 'zh-TW' : 'zh-CN'; break; }
      if (tag.indexOf('ja') === 0) { lang = 'ja'; break; }
      if (tag.indexOf('en') === 0) break;
    }
  }
  if (lang === 'en') return;
  root.lang = lang; // CJK fonts and line breaking from the first frame
  root.setAttribute('data-i18n-pending', '');
  // never leave the page hidden when a script or the catalogue fails to load (i18n.js reveals it as
  // soon as the translations are in; this is only for a page whose scripts never ran)
  setTimeout(function reveal() { root.removeAttribute('data-i18n-pending'); }, 10000);
}());
