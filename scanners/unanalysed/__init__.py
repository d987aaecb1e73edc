"""Model formats aisbom recognises by their content and does not analyse, installed as
`aisbom.scanners.unanalysed`: one module per format family, each with its recogniser and a check
that reports one `format-not-analysed` finding saying what loading the file can do.

Recognising them matters twice: such a file never passes for a format it is not (a Core ML
specification starts with the same bytes as an ONNX model), and it never looks analysed: its
finding makes the scan incomplete, so a format aisbom does not read is no way around the scan.

The registry restates each recogniser's first test as its `needs` (the first bytes it can claim),
and the sniffer asks it only of files that meet them: a recogniser changed to claim other first
bytes must change its `needs` too (tests/scanners/frame/test_sniff_shortcuts.py holds them to it).
"""
