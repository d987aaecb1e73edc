"""Archives and compressed streams, installed as `aisbom.scanners.archives`.

Zip (`zip_archive`), tar (`tar_archive`) and 7z (`sevenzip_archive`) archives and compressed
streams (`compressed`: gzip, bzip2, xz, lzma, lz4, zlib, zstd) are read into memory, never
extracted to disk; every member gets the checks of `members` (names that escape, links, size
against the limits) and is sniffed and scanned as a nested object.
"""
