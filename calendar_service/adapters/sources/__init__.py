"""Reading the official sources: the polite fetcher, page text extraction, the Federal Register API
client and the RSS/Atom reader. Everything here does I/O or wraps a parser; decisions are in core/."""
