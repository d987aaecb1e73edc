"""The HTML report (`--format html`): one self-contained file to send a colleague or keep as a CI
artefact. It works offline and asks for nothing: styles and script are inline, and its
Content-Security-Policy forbids every fetch, so the report cannot load anything even if a name in
it were crafted to. The verdict comes first; then the counts, the scan policy, where the bytes
came from, every file with its hashes, and the findings grouped by file, each with its rule, the
one-line why and the fix. Tables sort by a click on a column; findings filter by text, severity
and failing-only, with no server.

Every name and message comes from the files scanned and is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from aisbom.findings import Finding
from aisbom.formats.interface import FormatOptions, ReportFormat
from aisbom.pipeline import FileResult, ScanReport
from aisbom.rules import RULES
from aisbom.severity import Severity
from aisbom.wording import counted

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em;
       color: #1b1f24; }
h1 { font-size: 1.3em; margin: .2em 0; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.verdict { font-size: 1.6em; font-weight: 700; padding: .5em .8em; border-radius: 6px; margin: .5em 0; }
.verdict.clean { background: #dafbe1; color: #116329; }
.verdict.unsafe { background: #ffebe9; color: #a40e26; }
.verdict.error { background: #fff8c5; color: #7d4e00; }
.verdict small { display: block; font-size: .55em; font-weight: 400; color: #1b1f24; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th.sort { cursor: pointer; user-select: none; } th.sort::after { content: " \\2195"; color: #8c959f; }
th[data-dir=asc]::after { content: " \\2191"; } th[data-dir=desc]::after { content: " \\2193"; }
tbody.group th { background: #f6f8fa; font-weight: 600; }
code, .hash { font-family: ui-monospace, monospace; font-size: .9em; word-break: break-all; }
.sev { font-weight: 700; } .sev-4, .sev-3 { color: #a40e26; } .sev-2 { color: #9a6700; }
.sev-1 { color: #0969da; } .sev-0 { color: #57606a; }
.why { color: #424a53; } .fix { color: #116329; }
.filters { display: flex; gap: 1em; align-items: center; flex-wrap: wrap; margin: .5em 0; }
.silenced { opacity: .65; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dt { font-weight: 600; } dd { margin: 0; }
"""

_SCRIPT = """
(function () {
  var search = document.getElementById('filter-text');
  var minimum = document.getElementById('filter-severity');
  var failing = document.getElementById('filter-failing');
  var shown = document.getElementById('shown-count');
  function apply() {
    var q = search.value.toLowerCase(), min = +minimum.value, onlyFailing = failing.checked, n = 0;
    document.querySelectorAll('tr.finding').forEach(function (row) {
      var ok = +row.dataset.severity >= min && (!onlyFailing || row.dataset.failing === '1') &&
               (!q || (row.dataset.path + ' ' + row.textContent).toLowerCase().indexOf(q) >= 0);
      row.hidden = !ok; if (ok) { n++; }
    });
    document.querySelectorAll('#findings tbody.group').forEach(function (group) {
      group.hidden = !group.querySelector('tr.finding:not([hidden])');
    });
    shown.textContent = n;
  }
  [search, minimum, failing].forEach(function (el) { el.addEventListener('input', apply); });
  failing.addEventListener('change', apply);
  function key(row, index) {
    var cell = row.children[index];
    var value = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
    return isNaN(+value) || value === '' ? value.toLowerCase() : +value;
  }
  document.querySelectorAll('th.sort').forEach(function (th) {
    th.addEventListener('click', function () {
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      var dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
      th.parentNode.querySelectorAll('th').forEach(function (other) { delete other.dataset.dir; });
      th.dataset.dir = dir;
      th.closest('table').querySelectorAll('tbody').forEach(function (body) {
        var rows = Array.prototype.slice.call(body.querySelectorAll('tr.row'));
        rows.sort(function (a, b) {
          var x = key(a, index), y = key(b, index);
          return (x < y ? -1 : x > y ? 1 : 0) * (dir === 'asc' ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  apply();
})();
"""


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class HtmlFormat(ReportFormat):
    def format(self, report: ScanReport, options: FormatOptions) -> str:
        title = f"aisbom report: {report.target}"
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            _verdict(report),
            _summary(report, options),
            _policy(report),
            _files(report),
            _findings(report),
            f"<script>{_SCRIPT}</script>",
            "</body></html>",
        ]
        return "\n".join(p for p in parts if p) + "\n"


def _verdict(report: ScanReport) -> str:
    verdict = report.verdict
    failing = report.failing()
    if report.error is not None:
        detail = report.error
    elif failing:
        files = len({f.path for f in failing})
        detail = (
            f"{counted(len(failing), 'finding')} at or above {report.policy.fail_on.label} "
            f"in {counted(files, 'file')}: do not load what is flagged"
        )
    elif report.incomplete:
        detail = "some content could not be fully analysed: the scan cannot be called clean"
    else:
        detail = f"nothing at or above {report.policy.fail_on.label} in {counted(len(report.files), 'file')}"
    return (
        f'<div id="verdict" class="verdict {verdict}">{verdict.upper()}<small>{escape(detail)}</small></div>'
    )


def _summary(report: ScanReport, options: FormatOptions) -> str:
    counts = report.counts()
    cells = "".join(f'<td class="sev sev-{int(Severity.parse(k))}">{n} {k}</td>' for k, n in counts.items())
    rows = [
        ("Files", f"{len(report.files)} ({_size(sum(f.size or 0 for f in report.files))})"),
        ("Findings", None),
        ("Tool", f"aisbom {report.tool_version}"),
    ]
    if options.scanned_at is not None:
        rows.append(("Scanned at", options.scanned_at.isoformat()))
    prov = options.provenance
    if prov is not None:
        rows.append(("Source", prov.source_url))
        if prov.revision:
            rows.append(("Revision", prov.revision))
        if prov.acquired_at is not None:
            rows.append(("Acquired at", prov.acquired_at.isoformat()))
    items = []
    for label, value in rows:
        if value is None:
            items.append(f"<dt>{label}</dt><dd><table id='counts'><tr>{cells}</tr></table></dd>")
        else:
            items.append(f"<dt>{label}</dt><dd>{escape(value)}</dd>")
    return "<h2>Summary</h2><dl>" + "".join(items) + "</dl>"


def _policy(report: ScanReport) -> str:
    policy = report.policy
    items = [
        f"<dt>Fails at</dt><dd>{policy.fail_on.label} or above"
        + (" (--strict: anything outside the allowlist)" if policy.strict else "")
        + "</dd>"
    ]
    for allow in policy.allow_files:
        silenced = sum(1 for f in report.silenced if f.silenced_by == allow.path)
        items.append(
            f"<dt>Allow file</dt><dd><code>{escape(allow.path)}</code> "
            f"<span class='hash'>sha256:{allow.sha256}</span>, "
            f"{counted(len(allow.entries), 'entry', 'entries')}, silenced {counted(silenced, 'finding')}</dd>"
        )
    if policy.allow_dangerous:
        items.append("<dt>--allow-dangerous</dt><dd>allow files may silence code-execution gadgets</dd>")
    if report.excluded:
        names = ", ".join(f"<code>{escape(p)}</code>" for p in report.excluded)
        items.append(f"<dt>Excluded</dt><dd>{counted(len(report.excluded), 'file')}: {names}</dd>")
    return "<h2>Scan policy</h2><dl>" + "".join(items) + "</dl>"


def _file_status(file: FileResult, report: ScanReport) -> str:
    if not file.readable:
        return "error"
    if any(report.policy.fails(f.severity, f.rule) for f in file.findings):
        return "unsafe"
    return "warn" if any(f.severity >= Severity.MEDIUM for f in file.findings) else "ok"


def _files(report: ScanReport) -> str:
    rows = []
    for file in report.files:
        worst = max((int(f.severity) for f in file.findings), default=-1)
        rows.append(
            f'<tr class="row"><td>{escape(file.path)}</td><td data-sort="{worst}">'
            f"{escape(_file_status(file, report))}</td><td>{escape(file.format)}</td>"
            f'<td data-sort="{file.size or 0}">{_size(file.size)}</td>'
            f"<td>{len(file.findings)}</td><td class='hash'>{escape(file.sha256 or '-')}</td></tr>"
        )
    head = "".join(
        f'<th class="sort">{name}</th>' for name in ("File", "Status", "Format", "Size", "Findings")
    )
    return (
        f"<h2>Files ({len(report.files)})</h2><table id='files'><thead><tr>{head}<th>SHA-256</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _findings(report: ScanReport) -> str:
    options = "".join(f'<option value="{int(s)}">{s.label} and above</option>' for s in sorted(Severity))
    total = sum(len(f.findings) + len(f.silenced) for f in report.files)
    filters = (
        '<div class="filters"><label>Filter <input id="filter-text" type="search" '
        'placeholder="file, rule, text"></label>'
        f'<label>Severity <select id="filter-severity">{options}</select></label>'
        '<label><input id="filter-failing" type="checkbox"> failing only</label>'
        f'<span><span id="shown-count">{total}</span> of {total} shown</span></div>'
    )
    groups = []
    for file in report.files:
        findings = sorted(file.findings, key=lambda f: (-f.severity, f.offset or 0))
        if not findings and not file.silenced:
            continue
        rows = [_finding_row(f, report, silenced=False) for f in findings]
        rows += [_finding_row(f, report, silenced=True) for f in file.silenced]
        groups.append(
            f'<tbody class="group" data-path="{escape(file.path)}"><tr><th colspan="4">'
            f"{escape(file.path)} <small>[{escape(file.format)}, {_size(file.size)}]</small></th></tr>"
            + "".join(rows)
            + "</tbody>"
        )
    head = "".join(f'<th class="sort">{name}</th>' for name in ("Severity", "Rule", "What was seen"))
    body = "".join(groups) or "<tbody><tr><td colspan='4'>No findings.</td></tr></tbody>"
    return (
        f"<h2>Findings by file</h2>{filters}<table id='findings'><thead><tr>{head}"
        f"<th>Why it matters / what to do</th></tr></thead>{body}</table>"
    )


def _finding_row(finding: Finding, report: ScanReport, *, silenced: bool) -> str:
    rule = RULES[finding.rule]
    fails = not silenced and report.policy.fails(finding.severity, finding.rule)
    where = []
    if finding.member:
        where.append(f"in <code>{escape(finding.member)}</code>")
    if finding.offset is not None:
        where.append(f"at offset {finding.offset}")
    evidence = dict(finding.evidence)
    call = f"<br><code>{escape(evidence['call'])}</code>" if "call" in evidence else ""
    note = f"<br><em>silenced by {escape(finding.silenced_by or '')}</em>" if silenced else ""
    sev = int(finding.severity)
    return (
        f'<tr class="row finding{" silenced" if silenced else ""}" data-severity="{sev}" '
        f'data-failing="{int(fails)}" data-rule="{finding.rule}" data-path="{escape(finding.path)}">'
        f'<td class="sev sev-{sev}" data-sort="{sev}">{finding.severity.label.upper()}</td>'
        f"<td><code>{finding.rule}</code></td>"
        f"<td>{escape(finding.message)}{' (' + ', '.join(where) + ')' if where else ''}{call}{note}</td>"
        f'<td><span class="why">{escape(rule.brief_why)}</span><br>'
        f'<span class="fix">Fix: {escape(rule.remedy)}</span></td></tr>'
    )
