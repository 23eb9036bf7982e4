// Generated JavaScript that tsrun loads at run time is kept pure ASCII, so
// the loaders can read it as latin1: a one-byte V8 string, read ~4x faster
// than UTF-8 decoding, which makes a two-byte string of the whole file as
// soon as one character (a "→" in a comment) is not ASCII. \uXXXX means the
// same character in a string, template, regular expression, identifier or
// comment.
export function toAscii(source) {
  return source.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
