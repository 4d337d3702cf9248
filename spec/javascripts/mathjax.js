// MathJax 3 settings for pymdownx.arithmatex in generic mode: it wraps math in
// \( ... \) and \[ ... \] inside elements of class "arithmatex".
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|md-nav__link|md-ellipsis"
  }
};
// The table of contents repeats headings that hold math: typeset it too.
// Pages load in full (no instant navigation), so MathJax typesets each page on startup.

