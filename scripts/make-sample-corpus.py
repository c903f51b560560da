#!/usr/bin/env python3
"""Regenerate corpora/wikipedia-stem.xml.bz2 from gensim's shortened enwiki test dump.

The sample is cut verbatim from the source dump: the original <mediawiki ...>
root element and <siteinfo> block are kept, and each selected <page> ... </page>
block is copied byte for byte (raw wikitext untouched), in dump order.
Output is deterministic (bz2.compress at a fixed level, no timestamps).

Usage:
    python3 scripts/make-sample-corpus.py [SOURCE_DUMP] [-o OUTPUT]
"""
import argparse
import bz2
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SOURCE = os.path.join(
    REPO, "..", "shared", "data", "wikipedia",
    "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
)
DEFAULT_OUTPUT = os.path.join(REPO, "corpora", "wikipedia-stem.xml.bz2")

# STEM articles (ns 0, not redirects) to include.
ARTICLES = [
    "Albedo",
    "Atomic number",
    "Ampere",
    "Algorithm",
    "Alkali metal",
    "Acid",
    "Alkane",
    "Arithmetic mean",
    "Astronomer",
    "Analysis of variance",
]
# Redirect pages to include, so the sample shows redirects being skipped.
REDIRECTS = [
    "ANOVA",                 # -> Analysis of variance
    "Analysis of Variance",  # -> Analysis of variance
]

PAGE_RE = re.compile(rb"  <page>\n.*?\n  </page>\n", re.S)


def field(page, tag):
    m = re.search(rb"<" + tag + rb">(.*?)</" + tag + rb">", page, re.S)
    if not m:
        raise ValueError("page without <%s>" % tag.decode())
    return m.group(1).decode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", nargs="?", default=DEFAULT_SOURCE,
                    help="source dump (.xml.bz2); default: %(default)s")
    ap.add_argument("-o", "--output", default=DEFAULT_OUTPUT,
                    help="output file; default: %(default)s")
    args = ap.parse_args()

    with bz2.open(args.source, "rb") as f:
        data = f.read()

    pages = list(PAGE_RE.finditer(data))
    if not pages:
        sys.exit("error: no <page> elements found in %s" % args.source)
    header = data[: pages[0].start()]
    if not header.startswith(b"<mediawiki ") or b"</siteinfo>" not in header:
        sys.exit("error: unexpected dump header (no <mediawiki> root / <siteinfo>)")
    footer = b"</mediawiki>\n"

    wanted_articles = set(ARTICLES)
    wanted_redirects = set(REDIRECTS)
    chosen = []
    found = set()
    for m in pages:
        page = m.group(0)
        title = field(page, b"title")
        ns = field(page, b"ns")
        is_redirect = b"<redirect " in page or b"<redirect>" in page
        if title in wanted_articles and ns == "0" and not is_redirect:
            chosen.append(page)
            found.add(title)
        elif title in wanted_redirects and is_redirect:
            chosen.append(page)
            found.add(title)

    missing = (wanted_articles | wanted_redirects) - found
    if missing:
        sys.exit("error: not found in dump (or wrong kind): %s" % ", ".join(sorted(missing)))

    xml = header + b"".join(chosen) + footer
    out = bz2.compress(xml, compresslevel=9)

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, args.output)

    for page in chosen:
        kind = "redirect" if b"<redirect" in page else "article"
        print("  %-8s id=%-4s %s (%d bytes)" % (kind, field(page, b"id"), field(page, b"title"), len(page)))
    print("wrote %s: %d pages, %d bytes XML, %d bytes bz2, sha256 %s"
          % (args.output, len(chosen), len(xml), len(out), hashlib.sha256(out).hexdigest()))


if __name__ == "__main__":
    main()
